//! One service as `ServicesPlugin` options describe it: the supervisor's
//! spec, the proxy's routes and options, and what to watch. Read from JSON,
//! every error naming the field (`services[1].routes: …`).
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::error::GatewayConfigError;
use super::proxy::ForwardOptions;
use super::routes::ServiceRoutes;
use super::watch::WatchSpec;
use super::ServiceSpec;

/// Keys of a service that are the proxy's (the rest is the supervisor's spec).
const ROUTE_KEYS: [&str; 5] = [
    "routes",
    "timeoutMs",
    "stripPrefix",
    "maxResponseBytes",
    "watch",
];

/// One configured service.
pub struct Unit {
    pub spec: ServiceSpec,
    pub routes: Arc<ServiceRoutes>,
    pub watch: Vec<WatchSpec>,
    /// The proxy's part of the options, to tell a route change from a worker change.
    pub route_json: Value,
}

impl Unit {
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

/// `ServicesPlugin` options, read and checked.
pub struct Parsed {
    pub runtime_dir: Option<PathBuf>,
    pub units: Vec<Arc<Unit>>,
}

fn route_pattern(p: &Value, at: &str) -> Result<String, String> {
    let s = p.as_str().unwrap_or_default();
    let body = s.strip_suffix("/*").unwrap_or(s);
    let ok = s.starts_with('/')
        && !body.contains('*')
        && !body.contains(':')
        && s.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{at}: {p} is not a route: use /exact/path or /prefix/* (no other wildcards or :params)"
        ))
    }
}

/// Reads `{ services: [...], runtimeDir? }`.
pub fn parse(options: &Value) -> Result<Parsed, GatewayConfigError> {
    let obj = options
        .as_object()
        .ok_or("services: options must be an object")?;
    for k in obj.keys() {
        if k != "services" && k != "runtimeDir" {
            return Err(format!("services: unknown option {k:?}").into());
        }
    }
    let runtime_dir = match obj.get("runtimeDir") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(PathBuf::from(s)),
        Some(_) => return Err("runtimeDir: must be a non-empty string".into()),
    };
    let list = obj
        .get("services")
        .and_then(Value::as_array)
        .ok_or("services: must be an array of service objects")?;
    let mut specs_json = Vec::with_capacity(list.len());
    let mut proxied = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = format!("services[{i}]");
        let o = item
            .as_object()
            .ok_or_else(|| format!("{at}: must be an object"))?;
        let (mut spec, mut route_json) = (Map::new(), Map::new());
        for (k, v) in o {
            let side = if ROUTE_KEYS.contains(&k.as_str()) {
                &mut route_json
            } else {
                &mut spec
            };
            side.insert(k.clone(), v.clone());
        }
        specs_json.push(Value::Object(spec));
        proxied.push((at, o, Value::Object(route_json)));
    }
    let specs = super::parse_services(&Value::Array(specs_json))?;
    let mut units: Vec<Arc<Unit>> = Vec::with_capacity(specs.len());
    for (spec, (at, o, route_json)) in specs.into_iter().zip(proxied) {
        let (routes, watch) = proxy_part(&spec, &at, o)?;
        for p in &routes.patterns {
            if let Some(other) = units.iter().find(|u| u.routes.patterns.contains(p)) {
                return Err(format!(
                    "{at}.routes: {p} is already a route of service {:?}",
                    other.name()
                )
                .into());
            }
        }
        units.push(Arc::new(Unit {
            spec,
            routes: Arc::new(routes),
            watch,
            route_json,
        }));
    }
    Ok(Parsed { runtime_dir, units })
}

/// The routes, forwarding options and watch list of one service.
fn proxy_part(
    spec: &ServiceSpec,
    at: &str,
    o: &Map<String, Value>,
) -> Result<(ServiceRoutes, Vec<WatchSpec>), GatewayConfigError> {
    let patterns = match o.get("routes") {
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|p| route_pattern(p, &format!("{at}.routes")))
            .collect::<Result<Vec<_>, _>>()?,
        _ => {
            return Err(
                format!("{at}.routes: must be a non-empty array like [\"/api/py/*\"]").into(),
            )
        }
    };
    let opts = Value::Object(o.clone());
    let option = |source| GatewayConfigError::Option {
        at: at.to_owned(),
        source,
    };
    let timeout = crate::support::options::int_option(&opts, "timeoutMs", 1, 3_600_000)
        .map_err(option)?
        .unwrap_or(30_000);
    let max_response = crate::support::options::int_option(&opts, "maxResponseBytes", 1, 1 << 40)
        .map_err(option)?;
    let strip = match o.get("stripPrefix") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("{at}.stripPrefix: must be true or false").into()),
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let base = match &spec.cwd {
        Some(c) => cwd.join(c),
        None => cwd,
    };
    let watch = match o.get("watch") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(|p| p.as_str().is_some_and(|s| !s.is_empty())) => a
            .iter()
            .filter_map(Value::as_str)
            .map(|p| WatchSpec::parse(p, &base))
            .collect(),
        Some(_) => {
            return Err(
                format!("{at}.watch: must be an array of paths or globs (app/**/*.py)").into(),
            )
        }
    };
    let forward = ForwardOptions {
        service: spec.name.clone(),
        timeout: Duration::from_millis(timeout),
        strip_prefix: None,
        max_response,
    };
    Ok((ServiceRoutes::new(patterns, forward, strip), watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_route_belongs_to_one_service() {
        let err = parse(&json!({"services": [
            {"name": "a", "command": ["x"], "routes": ["/api/*"]},
            {"name": "b", "command": ["x"], "routes": ["/b", "/api/*"]}
        ]}))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert_eq!(
            err,
            "services[1].routes: /api/* is already a route of service \"a\""
        );
    }

    #[test]
    fn route_and_worker_options_are_told_apart() {
        let p = parse(&json!({"services": [
            {"name": "a", "command": ["x"], "instances": 2, "routes": ["/a/*"], "timeoutMs": 500}
        ]}))
        .expect("valid options");
        let u = &p.units[0];
        assert_eq!(u.spec.instances, 2);
        assert_eq!(u.route_json, json!({"routes": ["/a/*"], "timeoutMs": 500}));
        assert_eq!(u.routes.options.timeout, Duration::from_millis(500));
        assert_eq!(u.routes.options.max_response, None);
    }
}
