//! The wrap-chain planner: in which order a handler's wrappers nest.
use super::priority::{PlanError, PluginOrder};

/// Who registered a wrapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A plugin, by registration index, from inside one of its hooks.
    Plugin(usize),
    /// Application code outside any plugin hook: innermost, in call order.
    Outside,
}

/// One `handler.wrap()` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerSpec {
    pub owner: Owner,
    /// Whether the layer is implemented in Rust (a native plugin).
    pub native: bool,
}

/// A handler's chain: `layers` are indices into the handler's wrap calls,
/// outermost first. `native_prefix` counts the leading layers that are native:
/// those can run in Rust before anything is sent to JavaScript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPlan {
    pub layers: Vec<usize>,
    pub native_prefix: usize,
}

/// Orders one handler's wrap calls: lower plugin rank is outer; one plugin's
/// several wraps keep their call order; wraps from outside any plugin are
/// innermost.
pub fn plan_chain(order: &PluginOrder, wraps: &[LayerSpec]) -> Result<ChainPlan, PlanError> {
    let plugins = order.rank.len();
    let mut keyed = Vec::with_capacity(wraps.len());
    for (seq, w) in wraps.iter().enumerate() {
        let rank = match w.owner {
            Owner::Plugin(i) => *order
                .rank
                .get(i)
                .ok_or(PlanError::UnknownPlugin { index: i, plugins })?,
            Owner::Outside => usize::MAX,
        };
        keyed.push((rank, seq));
    }
    keyed.sort_unstable();
    let layers: Vec<usize> = keyed.into_iter().map(|(_, seq)| seq).collect();
    let native_prefix = layers.iter().take_while(|&&i| wraps[i].native).count();
    Ok(ChainPlan {
        layers,
        native_prefix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::priority::{plan_plugins, PluginSpec};

    fn order(prios: &[f64]) -> PluginOrder {
        let specs: Vec<PluginSpec> = prios
            .iter()
            .enumerate()
            .map(|(i, p)| PluginSpec {
                name: format!("p{i}"),
                priority: Some(*p),
            })
            .collect();
        plan_plugins(&specs).unwrap()
    }

    fn js(p: usize) -> LayerSpec {
        LayerSpec {
            owner: Owner::Plugin(p),
            native: false,
        }
    }

    fn native(p: usize) -> LayerSpec {
        LayerSpec {
            owner: Owner::Plugin(p),
            native: true,
        }
    }

    #[test]
    fn lower_priority_is_outer_whatever_the_call_order() {
        // Cache(400), RateLimit(100), Log(200), Auth(100); wraps made in registration order.
        let o = order(&[400.0, 100.0, 200.0, 100.0]);
        let plan = plan_chain(&o, &[js(0), js(1), js(2), js(3)]).unwrap();
        // RateLimit, Auth, Log, Cache.
        assert_eq!(plan.layers, vec![1, 3, 2, 0]);
    }

    #[test]
    fn one_plugins_wraps_keep_call_order() {
        let o = order(&[200.0, 100.0]);
        let plan = plan_chain(&o, &[js(0), js(1), js(0), js(1)]).unwrap();
        assert_eq!(plan.layers, vec![1, 3, 0, 2]);
    }

    #[test]
    fn outside_wraps_are_innermost() {
        let o = order(&[300.0]);
        let outside = LayerSpec {
            owner: Owner::Outside,
            native: false,
        };
        let plan = plan_chain(&o, &[outside, js(0)]).unwrap();
        assert_eq!(plan.layers, vec![1, 0]);
    }

    #[test]
    fn native_prefix_stops_at_the_first_js_layer() {
        let o = order(&[100.0, 200.0, 50.0, 400.0]);
        // Sorted: p2(50, native) p0(100, native) p1(200, js) p3(400, native).
        let plan = plan_chain(&o, &[native(0), js(1), native(2), native(3)]).unwrap();
        assert_eq!(plan.layers, vec![2, 0, 1, 3]);
        assert_eq!(plan.native_prefix, 2);
    }

    #[test]
    fn empty_chain() {
        let plan = plan_chain(&order(&[]), &[]).unwrap();
        assert!(plan.layers.is_empty());
        assert_eq!(plan.native_prefix, 0);
    }

    #[test]
    fn unknown_plugin_is_an_error() {
        let e = plan_chain(&order(&[1.0]), &[js(4)]).unwrap_err();
        assert!(e.to_string().contains("plugin #4"));
    }
}
