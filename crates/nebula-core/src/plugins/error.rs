//! Why a native plugin could not be created ([`super::create`]): its options
//! (an unknown kind, a bad option, a bad key or URL) or a failure to start
//! (the logger's writer thread). The texts name the plugin and the option.
use crate::auth::jwt::JwtConfigError;
use crate::kernel::error::from_message;
use crate::kernel::{Classify, ErrorKind, LayerError};
use crate::support::error::OptionError;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("unknown native plugin {0:?}")]
    UnknownKind(String),
    /// An option missing, unknown, of the wrong type or out of range.
    #[error("{0}")]
    Invalid(String),
    /// An integer option out of its range.
    #[error(transparent)]
    Option(#[from] OptionError),
    /// The JWT verifier's options (key, algorithm, claims).
    #[error(transparent)]
    Jwt(#[from] JwtConfigError),
    /// The cache's `url` is not a Redis URL.
    #[error("invalid redis url: {0}")]
    RedisUrl(#[source] redis::RedisError),
    /// A thread the plugin needs could not be started.
    #[error("{plugin}: cannot start the {what}: {source}")]
    Spawn {
        plugin: &'static str,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl Classify for PluginError {
    fn kind(&self) -> ErrorKind {
        match self {
            PluginError::Spawn { .. } => ErrorKind::Failed,
            PluginError::UnknownKind(_)
            | PluginError::Invalid(_)
            | PluginError::Option(_)
            | PluginError::Jwt(_)
            | PluginError::RedisUrl(_) => ErrorKind::Invalid,
        }
    }
}

/// Why an operation on the cache's Redis store failed (always at run time).
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No connection (none could be made lately).
    #[error("redis is unreachable")]
    Unreachable,
    /// Redis answered with an error.
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(std::time::Duration),
}

impl Classify for RemoteError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Failed
    }
}

impl From<RemoteError> for LayerError {
    fn from(e: RemoteError) -> Self {
        LayerError::Failed(e.to_string())
    }
}

from_message!(PluginError::Invalid);

/// A layer reads integer options with the same reader.
impl From<OptionError> for LayerError {
    fn from(e: OptionError) -> Self {
        LayerError::Invalid(e.to_string())
    }
}

/// A layer's options are checked by the same code as the plugin's.
impl From<PluginError> for LayerError {
    fn from(e: PluginError) -> Self {
        match e.kind() {
            ErrorKind::Invalid => LayerError::Invalid(e.to_string()),
            ErrorKind::Failed => LayerError::Failed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_options_are_invalid_and_keep_their_text() {
        let err = |kind: &str, options: serde_json::Value| {
            super::super::create(kind, &options).err().unwrap()
        };
        let unknown = err("nope", json!({}));
        assert!(unknown.is_bad_input());
        assert_eq!(unknown.to_string(), r#"unknown native plugin "nope""#);
        let range = err("rate_limit", json!({ "maxRequests": 0 }));
        assert!(matches!(range, PluginError::Option(_)));
        assert!(range.is_bad_input());
        assert!(range
            .to_string()
            .starts_with("maxRequests must be an integer from 1 to"));
        let url = err("cache", json!({ "store": "redis", "url": "nope://x" }));
        assert!(matches!(url, PluginError::RedisUrl(_)));
        assert!(url.is_bad_input());
        assert!(url.to_string().starts_with("invalid redis url: "));
        let key = err("jwt", json!({ "algorithm": "HS256", "secret": "short" }));
        assert!(matches!(key, PluginError::Jwt(JwtConfigError::Key(_))));
        assert!(key.is_bad_input());
    }

    #[tokio::test]
    async fn a_store_that_refuses_the_connection_is_a_failure() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let url = format!("redis://127.0.0.1:{port}");
        let plugin = super::super::create(
            "cache",
            &json!({ "store": "redis", "url": url, "timeoutMs": 300 }),
        )
        .expect("the URL is only checked, not connected");
        let layer = plugin
            .layer(&json!({ "module": "m", "method": "f" }))
            .expect("valid layer options")
            .expect("a layer");
        let down = layer
            .call("clear", json!({}))
            .await
            .expect_err("nobody listens");
        assert_eq!(down.kind(), ErrorKind::Failed, "{down}");
        assert_eq!(down.to_string(), "redis is unreachable");
        let bad = layer.call("get", json!({})).await.expect_err("no key");
        assert!(bad.is_bad_input(), "{bad}");
        let unknown = layer.call("nope", json!({})).await.expect_err("no such op");
        assert!(unknown.is_bad_input(), "{unknown}");
        assert_eq!(unknown.to_string(), r#"cache has no operation "nope""#);
    }

    #[test]
    fn a_thread_that_does_not_start_is_a_failure() {
        let e = PluginError::Spawn {
            plugin: "logger",
            what: "writer thread",
            source: std::io::Error::from(std::io::ErrorKind::OutOfMemory),
        };
        assert_eq!(e.kind(), ErrorKind::Failed);
        assert!(e
            .to_string()
            .starts_with("logger: cannot start the writer thread: "));
        assert!(std::error::Error::source(&e).is_some());
        assert!(matches!(LayerError::from(e), LayerError::Failed(_)));
    }
}
