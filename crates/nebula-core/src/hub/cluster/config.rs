//! `HubPlugin({ bus })`: which bus joins this node to the others, read once
//! (errors name the option). `NEBULA_BUS` (a URL or `local`) applies when the
//! option is absent; `NEBULA_NODE_ID` names the node.
use std::time::Duration;

use serde_json::{Map, Value};

use crate::hub::HubConfigError;
use crate::support::options::int_option;

/// Which message system carries the cluster's traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusKind {
    /// In-process: hubs of engines in this process that name the same group.
    Local {
        group: String,
    },
    Redis {
        url: String,
    },
    Nats {
        url: String,
    },
}

/// A configured cluster bus (absent: one node, no bus at all).
#[derive(Debug, Clone)]
pub struct BusConfig {
    pub kind: BusKind,
    /// Separates clusters sharing one Redis or NATS (channel/subject prefix).
    pub prefix: String,
    /// This node's name; unique in the cluster (a random suffix is added to the default).
    pub node_id: String,
    pub heartbeat: Duration,
    /// A node not heard from for this long is gone (its clients with it).
    pub presence_ttl: Duration,
    /// Messages waiting between the hub and the bus, each way.
    pub queue: usize,
}

const KNOWN: [&str; 8] = [
    "type",
    "url",
    "group",
    "prefix",
    "nodeId",
    "heartbeatMs",
    "presenceTtlMs",
    "queue",
];

/// A name usable in a channel and a NATS subject token: 1 to 64 of `[A-Za-z0-9_-]`.
pub fn check_token(what: &str, s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "hub: bus.{what} must be 1 to 64 letters, digits, '_' or '-', got {s:?}"
        ))
    }
}

fn default_node_id() -> String {
    let host: String = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(32)
        .collect();
    let host = if host.is_empty() { "node".into() } else { host };
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        crate::support::ids::random_u64() & 0xffff
    )
}

/// A bus option given as a URL (`redis://…`, `nats://…`) or `local`.
fn from_url(url: &str) -> Result<Option<BusKind>, String> {
    let url = url.trim();
    if url.is_empty() || url == "local" {
        Ok(None)
    } else if url.starts_with("redis://") || url.starts_with("rediss://") {
        Ok(Some(BusKind::Redis { url: url.into() }))
    } else if url.starts_with("nats://") || url.starts_with("tls://") {
        Ok(Some(BusKind::Nats { url: url.into() }))
    } else {
        Err(format!(
            "hub: bus {url:?} is not a redis://, nats:// URL or \"local\""
        ))
    }
}

impl BusConfig {
    /// Reads `bus` (None: one node). `env_bus` is `NEBULA_BUS`, used when `bus` is absent.
    pub fn from_json(
        v: Option<&Value>,
        env_bus: Option<&str>,
    ) -> Result<Option<BusConfig>, HubConfigError> {
        let empty = Map::new();
        let (kind, obj) = match v {
            None | Some(Value::Null) => match env_bus {
                Some(url) => (
                    from_url(url).map_err(|e| HubConfigError::Env {
                        var: "NEBULA_BUS",
                        source: Box::new(e.into()),
                    })?,
                    &empty,
                ),
                None => (None, &empty),
            },
            Some(Value::String(s)) => (from_url(s)?, &empty),
            Some(Value::Object(o)) => {
                for k in o.keys() {
                    if !KNOWN.contains(&k.as_str()) {
                        return Err(format!("hub: unknown bus option {k:?}").into());
                    }
                }
                let url = || match o.get("url") {
                    Some(Value::String(u)) if !u.trim().is_empty() => Ok(u.trim().to_owned()),
                    _ => Err("hub: bus.url (a string) is required for this bus type".to_owned()),
                };
                let kind = match o.get("type").and_then(Value::as_str) {
                    Some("local") => match o.get("group") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(g)) => {
                            check_token("group", g)?;
                            Some(BusKind::Local { group: g.clone() })
                        }
                        Some(_) => return Err("hub: bus.group must be a string".into()),
                    },
                    Some("redis") => Some(BusKind::Redis { url: url()? }),
                    Some("nats") => Some(BusKind::Nats { url: url()? }),
                    _ => {
                        return Err("hub: bus.type must be \"local\", \"redis\" or \"nats\"".into())
                    }
                };
                (kind, o)
            }
            Some(v) => return Err(format!("hub: bus must be an object or a URL, got {v}").into()),
        };
        let Some(kind) = kind else {
            return Ok(None);
        };
        let opts = Value::Object(obj.clone());
        let prefix = match obj.get("prefix") {
            None | Some(Value::Null) => "nebula".to_owned(),
            Some(Value::String(p)) => {
                check_token("prefix", p)?;
                p.clone()
            }
            Some(_) => return Err("hub: bus.prefix must be a string".into()),
        };
        let node_id = match obj.get("nodeId") {
            Some(Value::String(n)) => {
                check_token("nodeId", n)?;
                n.clone()
            }
            Some(Value::Null) | None => match std::env::var("NEBULA_NODE_ID") {
                Ok(n) if !n.is_empty() => {
                    check_token("nodeId", &n).map_err(|e| HubConfigError::Env {
                        var: "NEBULA_NODE_ID",
                        source: Box::new(e.into()),
                    })?;
                    n
                }
                _ => default_node_id(),
            },
            Some(_) => return Err("hub: bus.nodeId must be a string".into()),
        };
        let bus_option = |source| HubConfigError::Option {
            at: "hub: bus.",
            source,
        };
        let heartbeat = int_option(&opts, "heartbeatMs", 50, 60_000)
            .map_err(bus_option)?
            .unwrap_or(1000);
        let ttl = int_option(&opts, "presenceTtlMs", 150, 600_000)
            .map_err(bus_option)?
            .unwrap_or(heartbeat * 5);
        if ttl < heartbeat * 2 {
            return Err(format!(
                "hub: bus.presenceTtlMs ({ttl}) must be at least twice heartbeatMs ({heartbeat})"
            )
            .into());
        }
        let queue = int_option(&opts, "queue", 16, 1 << 20)
            .map_err(bus_option)?
            .unwrap_or(8192) as usize;
        Ok(Some(BusConfig {
            kind,
            prefix,
            node_id,
            heartbeat: Duration::from_millis(heartbeat),
            presence_ttl: Duration::from_millis(ttl),
            queue,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<Option<BusConfig>, String> {
        BusConfig::from_json(Some(&v), None).map_err(|e| e.to_string())
    }

    #[test]
    fn local_without_a_group_is_one_node() {
        assert!(read(json!("local")).unwrap().is_none());
        assert!(read(json!({"type": "local"})).unwrap().is_none());
        assert!(BusConfig::from_json(None, None).unwrap().is_none());
    }

    #[test]
    fn urls_and_objects_pick_the_bus() {
        let c = read(json!("redis://127.0.0.1:6379")).unwrap().unwrap();
        let redis = |url: &str| BusKind::Redis { url: url.into() };
        let nats = |url: &str| BusKind::Nats { url: url.into() };
        assert_eq!(c.kind, redis("redis://127.0.0.1:6379"));
        assert_eq!(c.prefix, "nebula");
        assert_eq!(c.heartbeat, Duration::from_secs(1));
        assert_eq!(c.presence_ttl, Duration::from_secs(5));
        let c = read(
            json!({"type": "nats", "url": "nats://h:4222", "nodeId": "n1", "heartbeatMs": 200}),
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.kind, nats("nats://h:4222"));
        assert_eq!(c.node_id, "n1");
        assert_eq!(c.presence_ttl, Duration::from_millis(1000));
        let env = BusConfig::from_json(None, Some("nats://x:1"))
            .unwrap()
            .unwrap();
        assert_eq!(env.kind, nats("nats://x:1"));
    }

    #[test]
    fn default_node_ids_are_tokens_and_differ() {
        let a = default_node_id();
        assert!(check_token("nodeId", &a).is_ok(), "{a}");
        assert_ne!(a, default_node_id());
    }

    #[test]
    fn bad_bus_options_are_named() {
        let err = |v: Value| read(v).err().unwrap();
        assert!(err(json!({"type": "kafka"})).contains("bus.type"));
        assert!(err(json!({"type": "redis"})).contains("bus.url"));
        assert!(
            err(json!({"type": "redis", "url": "redis://x", "nodeId": "a.b"})).contains("nodeId")
        );
        assert!(
            err(json!({"type": "redis", "url": "redis://x", "prefix": "a b"})).contains("prefix")
        );
        assert!(
            err(json!({"type": "redis", "url": "redis://x", "hearbeatMs": 5}))
                .contains("hearbeatMs")
        );
        assert!(err(
            json!({"type": "nats", "url": "nats://x", "heartbeatMs": 1000, "presenceTtlMs": 1500})
        )
        .contains("twice"));
        assert!(err(json!("http://x")).contains("redis://"));
        assert!(BusConfig::from_json(None, Some("amqp://x"))
            .err()
            .unwrap()
            .to_string()
            .contains("NEBULA_BUS"));
    }
}
