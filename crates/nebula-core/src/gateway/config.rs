//! Service specs of the gateway, read from JSON and checked once: every error
//! names the field, e.g. `services[0].command: must be a non-empty array of strings`.
//!
//! ```json
//! { "name": "api", "command": ["php", "worker.php"], "cwd": "./php",
//!   "env": { "APP_ENV": "prod" }, "instances": 2,
//!   "socket": "auto" | "/run/app/api.sock" | "tcp://127.0.0.1:9000"
//!             (or { "path": "/run/app/api.sock" } | { "tcp": "127.0.0.1:9000" }),
//!   "healthPath": "/health", "readyTimeoutMs": 5000, "graceMs": 5000,
//!   "backoff": { "initialMs": 100, "maxMs": 10000 },
//!   "crashLoop": { "maxRestarts": 5, "windowMs": 60000 } }
//! ```
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::error::GatewayConfigError;

/// Environment variables the engine sets for every worker; a spec may not set them.
pub const RESERVED_ENV: [&str; 5] = [
    "NEBULA_SOCKET",
    "NEBULA_SERVICE",
    "NEBULA_INSTANCE",
    "NEBULA_HOST",
    "NEBULA_PORT",
];

/// Where a worker listens; the engine picks one address per instance and
/// generation and passes it in `NEBULA_SOCKET` (see `socket.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketSpec {
    /// `<runtime dir>/<service>-<n>.sock`.
    Auto,
    /// A base path: `/run/app/api.sock` gives `/run/app/api-<n>.sock`.
    Path(PathBuf),
    /// TCP: instance `n` listens on `port + n` (a rolling restart's new
    /// instance on `port + instances + n`).
    Tcp { host: String, port: u16 },
}

/// Delay before restarting a crashed worker: `initial`, doubling up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffSpec {
    pub initial: Duration,
    pub max: Duration,
}

/// A worker that crashes when it was already restarted `max_restarts` times
/// within `window` is given up (state `Failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrashLoopSpec {
    pub max_restarts: usize,
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    /// Program and arguments; never empty.
    pub command: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub instances: usize,
    pub socket: SocketSpec,
    /// Asked with `GET` over the worker's socket; a 2xx answer means ready.
    pub health_path: Option<String>,
    pub ready_timeout: Duration,
    /// Stop grace period: SIGTERM, then SIGKILL after this long.
    pub grace: Duration,
    pub backoff: BackoffSpec,
    pub crash_loop: CrashLoopSpec,
}

impl ServiceSpec {
    /// A spec with the defaults: 1 instance, auto socket, no health path,
    /// ready within 5 s, 5 s grace, backoff 100 ms → 10 s, 5 restarts per 60 s.
    pub fn new(name: impl Into<String>, command: Vec<String>) -> ServiceSpec {
        ServiceSpec {
            name: name.into(),
            command,
            cwd: None,
            env: Vec::new(),
            instances: 1,
            socket: SocketSpec::Auto,
            health_path: None,
            ready_timeout: Duration::from_secs(5),
            grace: Duration::from_secs(5),
            backoff: BackoffSpec {
                initial: Duration::from_millis(100),
                max: Duration::from_secs(10),
            },
            crash_loop: CrashLoopSpec {
                max_restarts: 5,
                window: Duration::from_secs(60),
            },
        }
    }

    /// What `from_json` ensures, for a spec built in code: a name usable in
    /// file names, a command, an instance, a health path fit for a request line.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if !valid_name(name) {
            return Err(format!("{name:?}: a service name must be 1 to 64 characters of A-Z a-z 0-9 _ - . (not starting with .)"));
        }
        if self.command.first().is_none_or(|p| p.is_empty()) || self.instances == 0 {
            return Err(format!("{name}: needs a command and at least one instance"));
        }
        if self
            .health_path
            .as_deref()
            .is_some_and(|p| !valid_health_path(p))
        {
            return Err(format!(
                "{name}: the health path must start with / (printable ASCII, no spaces)"
            ));
        }
        if self.backoff.max < self.backoff.initial {
            return Err(format!(
                "{name}: the backoff maximum is less than its initial delay"
            ));
        }
        Ok(())
    }

    /// Reads one spec; `at` names it in errors (`services[0]`).
    pub fn from_json(value: &Value, at: &str) -> Result<ServiceSpec, GatewayConfigError> {
        let obj = object(value, at)?;
        refuse_unknown(obj, at, &KNOWN)?;
        let field = |name: &str| format!("{at}.{name}");
        let name = match obj.get("name") {
            Some(Value::String(s)) if valid_name(s) => s.clone(),
            _ => {
                return Err(GatewayConfigError::Invalid(format!(
                    "{}: must be 1 to 64 characters of A-Z a-z 0-9 _ - . (not starting with .)",
                    field("name")
                )))
            }
        };
        let command = match obj.get("command") {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().filter(|s| !s.contains('\0')).map(String::from))
                .collect::<Option<Vec<_>>>()
                .filter(|c| c.first().is_some_and(|p| !p.is_empty())),
            _ => None,
        }
        .ok_or_else(|| format!("{}: must be a non-empty array of strings", field("command")))?;
        let mut spec = ServiceSpec::new(name, command);
        spec.cwd = match obj.get("cwd") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(PathBuf::from(s)),
            Some(_) => {
                return Err(GatewayConfigError::Invalid(format!(
                    "{}: must be a non-empty string",
                    field("cwd")
                )))
            }
        };
        spec.env = env(obj.get("env"), &field("env"))?;
        if let Some(n) = int(obj, "instances", at, 1, 1024)? {
            spec.instances = n as usize;
        }
        spec.socket = socket(obj.get("socket"), &field("socket"))?;
        if let SocketSpec::Tcp { port, .. } = &spec.socket {
            if usize::from(*port) + 2 * spec.instances - 1 > usize::from(u16::MAX) {
                return Err(GatewayConfigError::Invalid(format!(
                    "{}: ports {port}..{port}+{} (two per instance) go past 65535",
                    field("socket"),
                    2 * spec.instances - 1
                )));
            }
        }
        spec.health_path = match obj.get("healthPath") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if valid_health_path(s) => Some(s.clone()),
            Some(_) => {
                return Err(GatewayConfigError::Invalid(format!(
                    "{}: must be a path starting with / (printable ASCII, no spaces)",
                    field("healthPath")
                )))
            }
        };
        if let Some(ms) = int(obj, "readyTimeoutMs", at, 1, 600_000)? {
            spec.ready_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = int(obj, "graceMs", at, 0, 600_000)? {
            spec.grace = Duration::from_millis(ms);
        }
        if let Some(v) = obj.get("backoff").filter(|v| !v.is_null()) {
            let at = field("backoff");
            let b = object(v, &at)?;
            refuse_unknown(b, &at, &["initialMs", "maxMs"])?;
            if let Some(ms) = int(b, "initialMs", &at, 1, 600_000)? {
                spec.backoff.initial = Duration::from_millis(ms);
            }
            if let Some(ms) = int(b, "maxMs", &at, 1, 3_600_000)? {
                spec.backoff.max = Duration::from_millis(ms);
            }
            if spec.backoff.max < spec.backoff.initial {
                return Err(GatewayConfigError::Invalid(format!(
                    "{at}.maxMs: must not be less than initialMs"
                )));
            }
        }
        if let Some(v) = obj.get("crashLoop").filter(|v| !v.is_null()) {
            let at = field("crashLoop");
            let c = object(v, &at)?;
            refuse_unknown(c, &at, &["maxRestarts", "windowMs"])?;
            if let Some(n) = int(c, "maxRestarts", &at, 0, 10_000)? {
                spec.crash_loop.max_restarts = n as usize;
            }
            if let Some(ms) = int(c, "windowMs", &at, 1, 86_400_000)? {
                spec.crash_loop.window = Duration::from_millis(ms);
            }
        }
        Ok(spec)
    }
}

/// Reads the `services` array; names must be unique.
pub fn parse_services(value: &Value) -> Result<Vec<ServiceSpec>, GatewayConfigError> {
    let items = value
        .as_array()
        .ok_or("services: must be an array of service objects")?;
    let mut specs: Vec<ServiceSpec> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let spec = ServiceSpec::from_json(item, &format!("services[{i}]"))?;
        if let Some(j) = specs.iter().position(|s| s.name == spec.name) {
            return Err(GatewayConfigError::Invalid(format!(
                "services[{i}].name: {:?} is already the name of services[{j}]",
                spec.name
            )));
        }
        specs.push(spec);
    }
    Ok(specs)
}

const KNOWN: [&str; 12] = [
    "name",
    "command",
    "cwd",
    "env",
    "instances",
    "socket",
    "healthPath",
    "readyTimeoutMs",
    "graceMs",
    "backoff",
    "crashLoop",
    // Free text for people reading the config.
    "description",
];

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{at}: must be an object"))
}

fn refuse_unknown(obj: &Map<String, Value>, at: &str, known: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{at}.{k}: unknown option (known: {})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// Field `name` of `obj`: absent/null, or a whole number in `min..=max`.
fn int(
    obj: &Map<String, Value>,
    name: &str,
    at: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, String> {
    crate::support::options::int_value(obj.get(name), min, max)
        .map_err(|got| format!("{at}.{name}: must be an integer from {min} to {max}, got {got}"))
}

fn valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn valid_health_path(s: &str) -> bool {
    s.starts_with('/') && s.bytes().all(|b| b.is_ascii_graphic())
}

fn env(value: Option<&Value>, at: &str) -> Result<Vec<(String, String)>, String> {
    let obj = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(obj)) => obj,
        Some(_) => return Err(format!("{at}: must be an object of strings")),
    };
    let mut out = Vec::with_capacity(obj.len());
    for (k, v) in obj {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(format!("{at}.{k}: not a valid variable name"));
        }
        if RESERVED_ENV.contains(&k.as_str()) {
            return Err(format!("{at}.{k}: set by the engine, cannot be configured"));
        }
        let v = v
            .as_str()
            .filter(|s| !s.contains('\0'))
            .ok_or_else(|| format!("{at}.{k}: must be a string"))?;
        out.push((k.clone(), v.to_string()));
    }
    Ok(out)
}

fn socket(value: Option<&Value>, at: &str) -> Result<SocketSpec, String> {
    let bad = || {
        format!("{at}: must be \"auto\", a socket path, \"tcp://host:port\", {{\"path\": \"…\"}} or {{\"tcp\": \"host:port\"}}")
    };
    let short;
    let obj = match value {
        None | Some(Value::Null) => return Ok(SocketSpec::Auto),
        Some(Value::String(s)) if s == "auto" => return Ok(SocketSpec::Auto),
        // The short forms: "tcp://host:port" and "/path/to/app.sock".
        Some(Value::String(s)) => {
            let mut m = Map::new();
            match s.strip_prefix("tcp://") {
                Some(t) => m.insert("tcp".into(), Value::String(t.to_owned())),
                None => m.insert("path".into(), Value::String(s.clone())),
            };
            short = m;
            &short
        }
        Some(Value::Object(obj)) if obj.len() == 1 => obj,
        Some(_) => return Err(bad()),
    };
    match (obj.get("path"), obj.get("tcp")) {
        (Some(Value::String(p)), None) if !p.is_empty() && !p.ends_with('/') => {
            Ok(SocketSpec::Path(PathBuf::from(p)))
        }
        (Some(_), None) => Err(format!("{at}.path: must be a file path (not a directory)")),
        (None, Some(Value::String(t))) => {
            let (host, port) = t
                .rsplit_once(':')
                .filter(|(h, _)| !h.is_empty())
                .ok_or_else(|| format!("{at}.tcp: must be host:port, got {t:?}"))?;
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("{at}.tcp: port must be 1 to 65535, got {port:?}"))?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            Ok(SocketSpec::Tcp {
                host: host.to_string(),
                port,
            })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
