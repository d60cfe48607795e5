//! CORS options: parsing, validation (messages name the option) and origin
//! matching. Everything a request needs is precomputed here, once per layer.
use hyper::header::HeaderValue;
use serde_json::{Map, Value};

/// Option keys this plugin knows; any other key is a mistake worth reporting.
const KEYS: &[&str] = &[
    "origins",
    "methods",
    "allowedHeaders",
    "exposedHeaders",
    "credentials",
    "maxAge",
];

/// `methods` when not given.
const DEFAULT_METHODS: &str = "GET, HEAD, PUT, PATCH, POST, DELETE";

/// The validated options of one layer, with header values ready to send.
#[derive(Debug)]
pub struct Config {
    pub origins: Origins,
    /// `Access-Control-Allow-Methods`.
    pub allow_methods: HeaderValue,
    /// `Access-Control-Allow-Headers`; None: echo `Access-Control-Request-Headers`.
    pub allow_headers: Option<HeaderValue>,
    /// `Access-Control-Expose-Headers` (None when the list is empty).
    pub expose_headers: Option<HeaderValue>,
    pub credentials: bool,
    /// `Access-Control-Max-Age`.
    pub max_age: Option<HeaderValue>,
}

/// Which origins may read responses.
#[derive(Debug)]
pub enum Origins {
    /// `"*"`.
    Any,
    /// Exact origins and `scheme://*.domain` patterns.
    List {
        exact: Vec<Box<[u8]>>,
        patterns: Vec<Pattern>,
    },
}

/// `https://*.example.com`: `prefix` = `https://`, `suffix` = `.example.com`.
#[derive(Debug)]
pub struct Pattern {
    prefix: Box<[u8]>,
    suffix: Box<[u8]>,
}

impl Origins {
    /// Whether `origin` (an `Origin` header's bytes) is allowed.
    pub fn allows(&self, origin: &[u8]) -> bool {
        match self {
            Origins::Any => true,
            Origins::List { exact, patterns } => {
                exact.iter().any(|e| e.eq_ignore_ascii_case(origin))
                    || patterns.iter().any(|p| p.matches(origin))
            }
        }
    }
}

impl Pattern {
    /// One or more DNS labels stand for the `*`; the bare domain does not match.
    fn matches(&self, origin: &[u8]) -> bool {
        let (p, s) = (self.prefix.len(), self.suffix.len());
        if origin.len() <= p + s {
            return false;
        }
        let (head, rest) = origin.split_at(p);
        let (middle, tail) = rest.split_at(rest.len() - s);
        head.eq_ignore_ascii_case(&self.prefix)
            && tail.eq_ignore_ascii_case(&self.suffix)
            && !middle.starts_with(b".")
            && !middle.ends_with(b".")
            && !middle.windows(2).any(|w| w == b"..")
            && middle
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    }
}

/// Parses and validates one layer's options (plugin options merged with
/// module and route options by the JS face).
pub fn parse(options: &Value) -> Result<Config, String> {
    let empty = Map::new();
    let map = match options {
        Value::Object(m) => m,
        Value::Null => &empty,
        _ => return Err("cors: options must be an object".into()),
    };
    if let Some(k) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("cors: unknown option {k:?}"));
    }
    let origins = match map.get("origins") {
        None => Origins::Any,
        Some(v) => parse_origins(v)?,
    };
    let allow_methods = match map.get("methods") {
        None => HeaderValue::from_static(DEFAULT_METHODS),
        Some(v) => {
            let list = token_list(v, "methods")?;
            if list.is_empty() {
                return Err("cors: methods must not be empty".into());
            }
            header_value(&list.join(", ").to_ascii_uppercase(), "methods")?
        }
    };
    let allow_headers = match map.get("allowedHeaders") {
        None => None,
        Some(v) => Some(header_value(
            &token_list(v, "allowedHeaders")?.join(", "),
            "allowedHeaders",
        )?),
    };
    let expose_headers = match map.get("exposedHeaders") {
        None => None,
        Some(v) => {
            let list = token_list(v, "exposedHeaders")?;
            if list.is_empty() {
                None
            } else {
                Some(header_value(&list.join(", "), "exposedHeaders")?)
            }
        }
    };
    let credentials = match map.get("credentials") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("cors: credentials must be a boolean".into()),
    };
    let max_age = match map.get("maxAge") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(n) => Some(HeaderValue::from(n)),
            None => return Err("cors: maxAge must be a non-negative integer (seconds)".into()),
        },
    };
    Ok(Config {
        origins,
        allow_methods,
        allow_headers,
        expose_headers,
        credentials,
        max_age,
    })
}

fn parse_origins(v: &Value) -> Result<Origins, String> {
    const SHAPE: &str = "cors: origins must be \"*\" or an array of origins";
    let list = match v {
        Value::String(s) if s == "*" => return Ok(Origins::Any),
        Value::Array(list) => list,
        _ => return Err(SHAPE.into()),
    };
    let mut exact = Vec::new();
    let mut patterns = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let Value::String(s) = item else {
            return Err(format!("cors: origins[{i}] must be a string"));
        };
        if s == "*" {
            return Err(format!(
                "cors: origins[{i}] is \"*\": give origins: \"*\" alone instead of a list"
            ));
        }
        if s.contains('*') {
            patterns.push(parse_pattern(s).ok_or_else(|| {
                format!(
                    "cors: origins[{i}] {s:?} is not a valid pattern: the only wildcard form is \
                     scheme://*.domain (e.g. https://*.example.com)"
                )
            })?);
        } else if s == "null" || is_origin(s) {
            exact.push(s.as_bytes().into());
        } else {
            return Err(format!(
                "cors: origins[{i}] {s:?} is not an origin: scheme://host[:port], \
                 without a path or a trailing slash"
            ));
        }
    }
    Ok(Origins::List { exact, patterns })
}

/// `scheme://*.host[:port]`, where the host names a domain (has a dot).
fn parse_pattern(s: &str) -> Option<Pattern> {
    let (scheme, rest) = s.split_once("://")?;
    let host = rest.strip_prefix("*.")?;
    if !is_scheme(scheme) || !is_host_port(host) {
        return None;
    }
    let name = host.split(':').next().unwrap_or(host);
    if !name.contains('.') {
        return None;
    }
    Some(Pattern {
        prefix: format!("{scheme}://").into_bytes().into(),
        suffix: format!(".{host}").into_bytes().into(),
    })
}

/// `scheme://host[:port]` as browsers send it in `Origin`.
fn is_origin(s: &str) -> bool {
    match s.split_once("://") {
        Some((scheme, host)) => is_scheme(scheme) && is_host_port(host),
        None => false,
    }
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// A host (name, IPv4 or bracketed IPv6) with an optional port: no path,
/// query, user info or wildcard.
fn is_host_port(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(['.', ':'])
        && !s.ends_with(['.', ':'])
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']' | b'_')
        })
}

/// An array of HTTP tokens (method or header names, or `*`).
fn token_list<'a>(v: &'a Value, name: &str) -> Result<Vec<&'a str>, String> {
    let Value::Array(list) = v else {
        return Err(format!("cors: {name} must be an array of strings"));
    };
    list.iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) if is_token(s) => Ok(s.as_str()),
            Value::String(s) => Err(format!("cors: {name}[{i}] {s:?} is not a valid HTTP token")),
            _ => Err(format!("cors: {name}[{i}] must be a string")),
        })
        .collect()
}

/// RFC 9110 token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn header_value(s: &str, name: &str) -> Result<HeaderValue, String> {
    HeaderValue::from_str(s).map_err(|_| format!("cors: {name} is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn origins(v: Value) -> Origins {
        parse(&json!({ "origins": v })).unwrap().origins
    }

    #[test]
    fn defaults() {
        let c = parse(&json!({})).unwrap();
        assert!(matches!(c.origins, Origins::Any));
        assert_eq!(c.allow_methods, "GET, HEAD, PUT, PATCH, POST, DELETE");
        assert!(c.allow_headers.is_none() && c.expose_headers.is_none());
        assert!(!c.credentials && c.max_age.is_none());
        assert!(parse(&Value::Null).is_ok());
    }

    #[test]
    fn lists_become_header_values() {
        let c = parse(&json!({
            "methods": ["get", "POST"], "allowedHeaders": ["Content-Type", "X-Id"],
            "exposedHeaders": ["X-Total"], "credentials": true, "maxAge": 600
        }))
        .unwrap();
        assert_eq!(c.allow_methods, "GET, POST");
        assert_eq!(c.allow_headers.unwrap(), "Content-Type, X-Id");
        assert_eq!(c.expose_headers.unwrap(), "X-Total");
        assert!(c.credentials);
        assert_eq!(c.max_age.unwrap(), "600");
        assert!(parse(&json!({ "exposedHeaders": [] }))
            .unwrap()
            .expose_headers
            .is_none());
        assert_eq!(
            parse(&json!({ "allowedHeaders": [] }))
                .unwrap()
                .allow_headers
                .unwrap(),
            ""
        );
    }

    #[test]
    fn exact_origins_match_whole_and_ignore_case() {
        let o = origins(json!([
            "https://a.example.com",
            "http://localhost:3000",
            "null"
        ]));
        assert!(o.allows(b"https://a.example.com"));
        assert!(o.allows(b"HTTPS://A.Example.com"));
        assert!(o.allows(b"http://localhost:3000"));
        assert!(o.allows(b"null"));
        assert!(!o.allows(b"https://a.example.com.evil.com"));
        assert!(!o.allows(b"http://a.example.com"));
        assert!(!o.allows(b"http://localhost:3001"));
        assert!(!o.allows(b""));
    }

    #[test]
    fn patterns_need_at_least_one_label() {
        let o = origins(json!(["https://*.example.com"]));
        assert!(o.allows(b"https://a.example.com"));
        assert!(o.allows(b"https://a.b.example.com"));
        assert!(o.allows(b"https://A-1.Example.COM"));
        assert!(!o.allows(b"https://example.com"));
        assert!(!o.allows(b"https://.example.com"));
        assert!(!o.allows(b"https://a..example.com"));
        assert!(!o.allows(b"http://a.example.com"));
        assert!(!o.allows(b"https://evilexample.com"));
        assert!(!o.allows(b"https://a.example.com.evil.com"));
        assert!(!o.allows(b"https://a.example.com:8443"));
        assert!(!o.allows(b"https://evil.com/.example.com"));
        assert!(!o.allows(b"https://u@a.example.com"));
        let with_port = origins(json!(["http://*.dev.test:8080"]));
        assert!(with_port.allows(b"http://x.dev.test:8080"));
        assert!(!with_port.allows(b"http://x.dev.test"));
    }

    #[test]
    fn invalid_options_name_the_option() {
        let cases = [
            (json!({ "origins": "https://a.com" }), "origins must be"),
            (json!({ "origins": [1] }), "origins[0] must be a string"),
            (json!({ "origins": ["*"] }), "origins[0] is \"*\""),
            (json!({ "origins": ["https://a.com/"] }), "origins[0]"),
            (json!({ "origins": ["a.com"] }), "not an origin"),
            (
                json!({ "origins": ["https://*.com"] }),
                "not a valid pattern",
            ),
            (
                json!({ "origins": ["https://a.*.com"] }),
                "not a valid pattern",
            ),
            (json!({ "origins": ["*.a.com"] }), "not a valid pattern"),
            (
                json!({ "origins": ["https://*.a.com/x"] }),
                "not a valid pattern",
            ),
            (json!({ "methods": [] }), "methods must not be empty"),
            (json!({ "methods": "GET" }), "methods must be an array"),
            (json!({ "methods": ["GE T"] }), "methods[0]"),
            (json!({ "allowedHeaders": [""] }), "allowedHeaders[0]"),
            (json!({ "exposedHeaders": [3] }), "exposedHeaders[0]"),
            (
                json!({ "credentials": "yes" }),
                "credentials must be a boolean",
            ),
            (json!({ "maxAge": -1 }), "maxAge"),
            (json!({ "maxAge": 1.5 }), "maxAge"),
            (json!({ "origin": "*" }), "unknown option \"origin\""),
            (json!([]), "options must be an object"),
        ];
        for (options, want) in cases {
            let err = parse(&options).unwrap_err();
            assert!(err.starts_with("cors: "), "{err}");
            assert!(err.contains(want), "{options}: {err} lacks {want}");
        }
    }
}
