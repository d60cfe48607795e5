//! Plugin priorities and the hook order derived from them.
use std::fmt;

/// nebula-engine's named priorities. Lower runs first (outer layer).
pub struct Priority;

impl Priority {
    pub const SYSTEM: i64 = 50;
    pub const SECURITY: i64 = 100;
    pub const LOGGING: i64 = 200;
    pub const BUSINESS: i64 = 300;
    pub const PERFORMANCE: i64 = 400;
    pub const ROUTE: i64 = 1000;
}

/// What the planner needs to know about a registered plugin.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginSpec {
    pub name: String,
    /// `None` means the default, [`Priority::BUSINESS`].
    pub priority: Option<f64>,
}

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    NameRequired { index: usize },
    BadPriority { name: String, value: String },
    DuplicateName { name: String },
    UnknownPlugin { index: usize, plugins: usize },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::NameRequired { index } => {
                write!(
                    f,
                    "plugin #{index} has no name: every plugin needs a non-empty `name`"
                )
            }
            PlanError::BadPriority { name, value } => write!(
                f,
                "plugin {name} has priority {value}: a priority must be a finite number"
            ),
            PlanError::DuplicateName { name } => {
                write!(f, "two plugins are both named {name}: names must be unique")
            }
            PlanError::UnknownPlugin { index, plugins } => write!(
                f,
                "a wrapper names plugin #{index}, but only {plugins} plugins are registered"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

/// Plugins and wrappers as the caller declared them: always bad input.
impl crate::kernel::Classify for PlanError {
    fn kind(&self) -> crate::kernel::ErrorKind {
        crate::kernel::ErrorKind::Invalid
    }
}

/// The hook order: `sorted` lists plugin indices (registration order) by
/// ascending priority, ties in registration order. `onHandlerLoad` runs for
/// `sorted[..route_start]` before the chains are applied and for
/// `sorted[route_start..]` (priority exactly ROUTE) after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginOrder {
    pub sorted: Vec<usize>,
    /// `rank[i]` is the position of registered plugin `i` in `sorted`.
    pub rank: Vec<usize>,
    pub route_start: usize,
    /// Whether `sorted[k]` has priority exactly ROUTE (they are not all at the end
    /// when a plugin has a priority above ROUTE).
    pub is_route: Vec<bool>,
}

fn effective(p: &PluginSpec) -> Result<f64, PlanError> {
    match p.priority {
        None => Ok(Priority::BUSINESS as f64),
        Some(v) if v.is_finite() => Ok(v),
        Some(v) => Err(PlanError::BadPriority {
            name: p.name.clone(),
            value: v.to_string(),
        }),
    }
}

/// Validates the plugins and sorts them by priority (stable).
pub fn plan_plugins(plugins: &[PluginSpec]) -> Result<PluginOrder, PlanError> {
    let mut prio = Vec::with_capacity(plugins.len());
    let mut seen = std::collections::HashSet::new();
    for (index, p) in plugins.iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(PlanError::NameRequired { index });
        }
        if !seen.insert(p.name.as_str()) {
            return Err(PlanError::DuplicateName {
                name: p.name.clone(),
            });
        }
        prio.push(effective(p)?);
    }
    let mut sorted: Vec<usize> = (0..plugins.len()).collect();
    // `sort_by` is stable: equal priorities keep registration order.
    sorted.sort_by(|&a, &b| prio[a].total_cmp(&prio[b]));
    let mut rank = vec![0; plugins.len()];
    for (pos, &i) in sorted.iter().enumerate() {
        rank[i] = pos;
    }
    let is_route: Vec<bool> = sorted
        .iter()
        .map(|&i| prio[i] == Priority::ROUTE as f64)
        .collect();
    let route_start = is_route.iter().filter(|r| !**r).count();
    Ok(PluginOrder {
        sorted,
        rank,
        route_start,
        is_route,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, p: Option<f64>) -> PluginSpec {
        PluginSpec {
            name: name.into(),
            priority: p,
        }
    }

    #[test]
    fn docs_scenario_sorts_by_priority_then_registration() {
        // Cache(400), RateLimit(100), Log(200), Auth(100) registered in that order.
        let ps = [
            spec("cache", Some(400.0)),
            spec("rate", Some(100.0)),
            spec("log", Some(200.0)),
            spec("auth", Some(100.0)),
        ];
        let o = plan_plugins(&ps).unwrap();
        assert_eq!(o.sorted, vec![1, 3, 2, 0]);
        assert_eq!(o.rank, vec![3, 0, 2, 1]);
        assert_eq!(o.route_start, 4);
    }

    #[test]
    fn missing_priority_is_business() {
        let ps = [
            spec("a", Some(400.0)),
            spec("b", None),
            spec("c", Some(300.0)),
        ];
        let o = plan_plugins(&ps).unwrap();
        assert_eq!(o.sorted, vec![1, 2, 0]);
    }

    #[test]
    fn route_priority_plugins_run_in_the_second_phase() {
        let ps = [
            spec("route-plugin", Some(1000.0)),
            spec("log", Some(200.0)),
            spec("late", Some(2000.0)),
        ];
        let o = plan_plugins(&ps).unwrap();
        assert_eq!(o.sorted, vec![1, 0, 2]);
        assert_eq!(o.is_route, vec![false, true, false]);
        // Only exactly-ROUTE plugins wait for the chains.
        assert_eq!(o.route_start, 2);
    }

    #[test]
    fn negative_and_fractional_priorities_sort_numerically() {
        let ps = [
            spec("a", Some(1.5)),
            spec("b", Some(-3.0)),
            spec("c", Some(1.25)),
        ];
        assert_eq!(plan_plugins(&ps).unwrap().sorted, vec![1, 2, 0]);
    }

    #[test]
    fn errors_name_the_problem() {
        let e = plan_plugins(&[spec(" ", None)]).unwrap_err();
        assert_eq!(e, PlanError::NameRequired { index: 0 });
        assert!(e.to_string().contains("non-empty `name`"));
        let e = plan_plugins(&[spec("x", Some(f64::NAN))]).unwrap_err();
        assert!(e.to_string().contains("plugin x has priority NaN"));
        let e = plan_plugins(&[spec("x", None), spec("x", None)]).unwrap_err();
        assert!(e.to_string().contains("both named x"));
    }
}
