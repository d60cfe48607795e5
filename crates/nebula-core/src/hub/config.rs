//! `HubPlugin` options, read from JSON and checked once (errors name the option).
use std::time::Duration;

use serde_json::{Map, Value};

use super::identity::ANONYMOUS_DEFAULT;
use super::HubConfigError;
use crate::auth::jwt::{JwtConfig, JwtVerifier};
use crate::support::options::int_option;

/// What happens to a message for a client whose send queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFull {
    /// Close the slow client (1008): everyone else keeps full speed.
    Disconnect,
    /// Drop the message for that client (counted in metrics).
    Drop,
}

/// The hub's settings.
pub struct HubConfig {
    /// The WebSocket path (default `/ws`).
    pub path: String,
    /// Where the admin API lives (default `/api`).
    pub api_prefix: String,
    pub verifier: Option<JwtVerifier>,
    /// The claim listing a client's permissions (default `permissions`).
    pub permissions_claim: String,
    pub allow_anonymous: bool,
    pub anonymous_permissions: Vec<String>,
    /// Allowed `Origin` values; empty = any origin.
    pub allowed_origins: Vec<String>,
    /// Bearer token for the admin API; None = the admin API is off.
    pub admin_token: Option<String>,
    /// Largest message (bytes, after reassembly): over it the socket closes with 1009.
    pub max_message_size: usize,
    pub max_fragments: usize,
    pub send_queue_messages: usize,
    pub send_queue_bytes: usize,
    pub on_full: OnFull,
    pub max_connections: usize,
    /// Messages a client may send per second (0 = unlimited); beyond → error 1005.
    pub max_messages_per_second: u32,
    pub ping_interval: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    /// Test-only: echo every text/binary frame back as is (RFC 6455 conformance tests).
    pub echo: bool,
    /// The cluster bus (None: one node).
    pub bus: Option<super::cluster::BusConfig>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            path: "/ws".into(),
            api_prefix: "/api".into(),
            verifier: None,
            permissions_claim: "permissions".into(),
            allow_anonymous: true,
            anonymous_permissions: ANONYMOUS_DEFAULT.iter().map(|s| s.to_string()).collect(),
            allowed_origins: Vec::new(),
            admin_token: None,
            max_message_size: 1 << 20,
            max_fragments: 1024,
            send_queue_messages: 1024,
            send_queue_bytes: 4 << 20,
            on_full: OnFull::Disconnect,
            max_connections: 10_000,
            max_messages_per_second: 100,
            ping_interval: Some(Duration::from_secs(30)),
            idle_timeout: Some(Duration::from_secs(90)),
            echo: false,
            bus: None,
        }
    }
}

const KNOWN: [&str; 15] = [
    "maxMessagesPerSecond",
    "path",
    "apiPrefix",
    "auth",
    "allowAnonymous",
    "anonymousPermissions",
    "allowedOrigins",
    "adminToken",
    "maxMessageSize",
    "maxFragments",
    "sendQueue",
    "maxConnections",
    "pingIntervalMs",
    "idleTimeoutMs",
    "bus",
];

impl HubConfig {
    /// Reads the options. Unknown keys are refused (a misspelt option must not
    /// silently keep an unsafe default).
    pub fn from_json(options: &Value) -> Result<HubConfig, HubConfigError> {
        let empty = Map::new();
        let obj = match options {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => return Err("hub: options must be an object".into()),
        };
        for k in obj.keys() {
            if !KNOWN.contains(&k.as_str()) {
                return Err(format!("hub: unknown option {k:?}").into());
            }
        }
        let d = HubConfig::default();
        let path = path_option(obj, "path", &d.path)?;
        let api_prefix = path_option(obj, "apiPrefix", &d.api_prefix)?;
        let (verifier, permissions_claim) = match obj.get("auth") {
            None | Some(Value::Null) => (None, d.permissions_claim.clone()),
            Some(auth) => {
                let (config, claim) = jwt_config(auth)?;
                (
                    Some(JwtVerifier::new(&config).map_err(HubConfigError::Auth)?),
                    claim,
                )
            }
        };
        let allow_anonymous = bool_option(obj, "allowAnonymous")?.unwrap_or(verifier.is_none());
        if !allow_anonymous && verifier.is_none() {
            return Err(
                "hub: allowAnonymous is false but no auth is configured: nobody could connect"
                    .into(),
            );
        }
        let anonymous_permissions = match obj.get("anonymousPermissions") {
            None | Some(Value::Null) => d.anonymous_permissions.clone(),
            Some(v) => strings(v, "anonymousPermissions")?,
        };
        let allowed_origins = match obj.get("allowedOrigins") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => strings(v, "allowedOrigins")?
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        };
        let admin_token = match obj.get("adminToken") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) if t.len() >= 16 => Some(t.clone()),
            Some(_) => {
                return Err("hub: adminToken must be a string of at least 16 characters".into())
            }
        };
        let int = |name: &str, min: u64, max: u64| {
            int_option(&Value::Object(obj.clone()), name, min, max).map_err(|source| {
                HubConfigError::Option {
                    at: "hub: ",
                    source,
                }
            })
        };
        let max_message_size =
            int("maxMessageSize", 125, 64 << 20)?.map_or(d.max_message_size, |n| n as usize);
        let max_fragments =
            int("maxFragments", 1, 1 << 20)?.map_or(d.max_fragments, |n| n as usize);
        let max_connections =
            int("maxConnections", 1, 10_000_000)?.map_or(d.max_connections, |n| n as usize);
        let max_messages_per_second = int("maxMessagesPerSecond", 0, 1_000_000)?
            .map_or(d.max_messages_per_second, |n| n as u32);
        let ping_interval = match int("pingIntervalMs", 0, 3_600_000)? {
            None => d.ping_interval,
            Some(0) => None,
            Some(n) => Some(Duration::from_millis(n)),
        };
        let idle_timeout = match int("idleTimeoutMs", 0, 86_400_000)? {
            None => d.idle_timeout,
            Some(0) => None,
            Some(n) => Some(Duration::from_millis(n)),
        };
        let (send_queue_messages, send_queue_bytes, on_full) =
            send_queue(obj.get("sendQueue"), &d)?;
        let bus = super::cluster::BusConfig::from_json(
            obj.get("bus"),
            std::env::var("NEBULA_BUS").ok().as_deref(),
        )?;
        if let (Some(ping), Some(idle)) = (ping_interval, idle_timeout) {
            if ping >= idle {
                return Err(format!(
                    "hub: pingIntervalMs ({}) must be below idleTimeoutMs ({}): quiet clients are kept alive by answering pings",
                    ping.as_millis(),
                    idle.as_millis()
                )
                .into());
            }
        }
        // A frame is the message plus at most 14 bytes of header.
        if send_queue_bytes < max_message_size + 14 {
            return Err(format!(
                "hub: sendQueue.maxBytes ({send_queue_bytes}) must hold one message of maxMessageSize ({max_message_size}) plus its frame header"
            )
            .into());
        }
        if path.starts_with(&format!("{api_prefix}/")) || path == api_prefix {
            return Err(format!("hub: path {path:?} lies inside apiPrefix {api_prefix:?}").into());
        }
        Ok(HubConfig {
            path,
            api_prefix,
            verifier,
            permissions_claim,
            allow_anonymous,
            anonymous_permissions,
            allowed_origins,
            admin_token,
            max_message_size,
            max_fragments,
            send_queue_messages,
            send_queue_bytes,
            on_full,
            max_connections,
            ping_interval,
            idle_timeout,
            max_messages_per_second,
            echo: false,
            bus,
        })
    }

    /// Whether a browser page from `origin` may connect.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        match origin {
            // Non-browser clients send no Origin: the allow-list is a browser defence.
            None => true,
            Some(o) => {
                let o = o.trim_end_matches('/').to_ascii_lowercase();
                self.allowed_origins.iter().any(|a| a == "*" || *a == o)
            }
        }
    }
}

fn path_option(obj: &Map<String, Value>, name: &str, default: &str) -> Result<String, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(default.to_owned()),
        Some(Value::String(p))
            if p.starts_with('/') && p.len() > 1 && !p.contains(['?', '#', ':', '*']) =>
        {
            Ok(p.trim_end_matches('/').to_owned())
        }
        Some(v) => Err(format!("hub: {name} must be a path like \"/ws\", got {v}")),
    }
}

fn bool_option(obj: &Map<String, Value>, name: &str) -> Result<Option<bool>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(format!("hub: {name} must be a boolean, got {v}")),
    }
}

fn strings(v: &Value, name: &str) -> Result<Vec<String>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("hub: {name} must be a list of strings"))
            })
            .collect(),
        _ => Err(format!("hub: {name} must be a list of strings")),
    }
}

/// `auth: { secret | publicKey, algorithms?: [one], algorithm?, issuer?, audience?, leeway?, permissionsClaim? }`.
fn jwt_config(auth: &Value) -> Result<(JwtConfig, String), HubConfigError> {
    let Value::Object(a) = auth else {
        return Err(
            "hub: auth must be an object { secret | publicKey, algorithms?, issuer?, audience? }"
                .into(),
        );
    };
    let mut out = Map::new();
    let algorithm = match (a.get("algorithm"), a.get("algorithms")) {
        (Some(Value::String(s)), None) => s.clone(),
        (None, Some(Value::Array(list))) if list.len() == 1 && list[0].is_string() => {
            list[0].as_str().unwrap_or_default().to_owned()
        }
        (None, Some(_)) => {
            return Err(
                "hub auth: algorithms must list exactly one algorithm (it is pinned)".into(),
            )
        }
        (None, None) if a.contains_key("publicKey") => "RS256".into(),
        (None, None) => "HS256".into(),
        _ => return Err("hub auth: give algorithms: [\"HS256\" | \"RS256\" | \"ES256\"]".into()),
    };
    out.insert("algorithm".into(), Value::from(algorithm));
    let mut claim = "permissions".to_owned();
    for (k, v) in a {
        match k.as_str() {
            "algorithm" | "algorithms" => {}
            "permissionsClaim" => {
                claim = v
                    .as_str()
                    .ok_or("hub auth: permissionsClaim must be a string")?
                    .to_owned()
            }
            "secret" | "publicKey" | "issuer" | "audience" | "leeway" => {
                out.insert(k.clone(), v.clone());
            }
            other => return Err(format!("hub auth: unknown option {other:?}").into()),
        }
    }
    let config = JwtConfig::from_json(&Value::Object(out)).map_err(HubConfigError::Auth)?;
    Ok((config, claim))
}

fn send_queue(v: Option<&Value>, d: &HubConfig) -> Result<(usize, usize, OnFull), HubConfigError> {
    let obj = match v {
        None | Some(Value::Null) => {
            return Ok((d.send_queue_messages, d.send_queue_bytes, d.on_full))
        }
        Some(Value::Object(o)) => o,
        Some(_) => return Err("hub: sendQueue must be { maxMessages, maxBytes, onFull }".into()),
    };
    for k in obj.keys() {
        if !["maxMessages", "maxBytes", "onFull"].contains(&k.as_str()) {
            return Err(format!("hub: unknown option sendQueue.{k}").into());
        }
    }
    let as_value = Value::Object(obj.clone());
    let option = |name, min, max| {
        int_option(&as_value, name, min, max).map_err(|source| HubConfigError::Option {
            at: "hub: sendQueue.",
            source,
        })
    };
    let messages = option("maxMessages", 1, 1 << 24)?.map_or(d.send_queue_messages, |n| n as usize);
    let bytes = option("maxBytes", 1024, 1 << 32)?.map_or(d.send_queue_bytes, |n| n as usize);
    let on_full = match obj.get("onFull") {
        None | Some(Value::Null) => d.on_full,
        Some(Value::String(s)) if s == "disconnect" => OnFull::Disconnect,
        Some(Value::String(s)) if s == "drop" => OnFull::Drop,
        Some(v) => {
            return Err(format!(
                "hub: sendQueue.onFull must be \"disconnect\" or \"drop\", got {v}"
            )
            .into())
        }
    };
    Ok((messages, bytes, on_full))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_allow_anonymous_without_auth() {
        let c = HubConfig::from_json(&Value::Null).unwrap();
        assert_eq!(c.path, "/ws");
        assert!(c.allow_anonymous);
        assert!(c.verifier.is_none());
        assert!(c.admin_token.is_none());
    }

    #[test]
    fn auth_turns_anonymous_off_unless_asked() {
        let c =
            HubConfig::from_json(&json!({"auth": {"secret": SECRET, "issuer": "nebula"}})).unwrap();
        assert!(!c.allow_anonymous);
        let c = HubConfig::from_json(&json!({"auth": {"secret": SECRET}, "allowAnonymous": true}))
            .unwrap();
        assert!(c.allow_anonymous);
    }

    #[test]
    fn bad_options_are_named() {
        let err = |o: Value| HubConfig::from_json(&o).err().unwrap().to_string();
        assert!(err(json!({"pth": "/x"})).contains("\"pth\""));
        assert!(err(json!({"path": "ws"})).contains("path"));
        assert!(err(json!({"maxMessageSize": 1})).contains("maxMessageSize"));
        assert!(err(json!({"sendQueue": {"onFull": "explode"}})).contains("onFull"));
        assert!(err(json!({"auth": {"secret": "short"}})).contains("secret"));
        assert!(
            err(json!({"auth": {"secret": SECRET, "algorithms": ["HS256", "RS256"]}}))
                .contains("exactly one")
        );
        assert!(err(json!({"allowAnonymous": false})).contains("nobody"));
        assert!(err(json!({"adminToken": "short"})).contains("adminToken"));
        assert!(err(json!({"bus": {"type": "redis"}})).contains("bus.url"));
        assert!(err(json!({"path": "/api/ws"})).contains("apiPrefix"));
        assert!(err(json!({"pingIntervalMs": 5000, "idleTimeoutMs": 5000})).contains("below"));
        assert!(err(json!({"maxMessageSize": 8_000_000})).contains("maxBytes"));
        assert!(err(json!({"__echo": true})).contains("__echo"));
    }

    #[test]
    fn zero_turns_ping_and_idle_off() {
        let c = HubConfig::from_json(&json!({"pingIntervalMs": 0, "idleTimeoutMs": 0})).unwrap();
        assert!(c.ping_interval.is_none() && c.idle_timeout.is_none());
    }

    #[test]
    fn origin_allow_list() {
        let c =
            HubConfig::from_json(&json!({"allowedOrigins": ["https://app.example.com/"]})).unwrap();
        assert!(c.origin_allowed(Some("https://APP.example.com")));
        assert!(!c.origin_allowed(Some("https://evil.example.com")));
        assert!(c.origin_allowed(None));
        let open = HubConfig::default();
        assert!(open.origin_allowed(Some("https://any.where")));
    }
}
