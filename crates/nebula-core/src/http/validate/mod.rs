//! A route's request checked against its JSON Schemas (`@Route({ validate })`)
//! before JavaScript sees it: the body, the query, the path parameters and
//! the headers. Schemas are compiled once, when the route is added; a
//! request that does not match gets a 400 listing every violation and never
//! crosses into JavaScript. Strings of the query, path and headers are first
//! coerced to the declared types ([`coerce`]); the coerced values are handed
//! to the handler as one JSON text (`ctx.req.valid()`).
//!
//! Error paths are JSON Pointers (RFC 6901) into the part named by `in`:
//! `{"in":"body","path":"/items/0/price","message":"-1 is less than the minimum of 0"}`.
mod coerce;
mod input;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use hyper::{HeaderMap, StatusCode};
use serde_json::{json, Map, Value};

use crate::kernel::Reply;
use coerce::Plan;
pub use input::{is_json_type, query_pairs};

/// At most this many violations are listed (the rest are counted).
pub const MAX_LISTED: usize = 100;

/// Why a route's schemas could not be compiled (the route is refused at start).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SchemaError {
    #[error("validate.{part}: not a valid JSON Schema: {message}")]
    Invalid { part: &'static str, message: String },
    #[error("validate: {0}")]
    Shape(String),
}

impl crate::kernel::Classify for SchemaError {
    fn kind(&self) -> crate::kernel::ErrorKind {
        crate::kernel::ErrorKind::Invalid
    }
}

/// The parts of a request a schema may describe, as `in` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Body,
    Query,
    Params,
    Headers,
}

impl Part {
    /// The name in `validate: { … }` and in an error's `in`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Body => "body",
            Part::Query => "query",
            Part::Params => "params",
            Part::Headers => "headers",
        }
    }

    /// The key of the coerced values handed to JavaScript (Hono's `valid()` targets).
    fn target(self) -> &'static str {
        match self {
            Part::Body => "json",
            Part::Query => "query",
            Part::Params => "param",
            Part::Headers => "header",
        }
    }
}

/// One reason a request does not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub part: Part,
    /// JSON Pointer into the part ("" for the part itself).
    pub path: String,
    pub message: String,
}

struct Compiled {
    validator: jsonschema::Validator,
    plan: Plan,
}

impl Compiled {
    fn new(part: Part, schema: &Value) -> Result<Compiled, SchemaError> {
        let invalid = |message: String| SchemaError::Invalid {
            part: part.name(),
            message,
        };
        if !schema.is_object() && !schema.is_boolean() {
            return Err(invalid(format!(
                "expected an object or a boolean, got {schema}"
            )));
        }
        let mut schema = schema.clone();
        if part == Part::Headers {
            lowercase_names(&mut schema);
        }
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| invalid(e.to_string()))?;
        Ok(Compiled {
            plan: Plan::new(&schema, part == Part::Headers),
            validator,
        })
    }

    fn check(&self, part: Part, value: &Value, out: &mut Vec<Violation>) {
        if self.validator.is_valid(value) {
            return;
        }
        out.extend(self.validator.iter_errors(value).map(|e| Violation {
            part,
            path: e.instance_path().to_string(),
            message: e.to_string(),
        }));
    }
}

/// What a request carries, as the pipeline has it after reading the body.
pub struct Request<'a> {
    /// Path and query.
    pub target: &'a str,
    pub params: &'a [(std::sync::Arc<str>, String)],
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

/// The compiled schemas of one route.
pub struct RouteValidator {
    body: Option<Compiled>,
    query: Option<Compiled>,
    params: Option<Compiled>,
    headers: Option<Compiled>,
}

impl std::fmt::Debug for RouteValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteValidator")
            .field("body", &self.body.is_some())
            .field("query", &self.query.is_some())
            .field("params", &self.params.is_some())
            .field("headers", &self.headers.is_some())
            .finish()
    }
}

impl RouteValidator {
    /// Compiles `{ body?, query?, params?, headers? }` (JSON Schemas); `None` when it names none.
    pub fn compile(schemas: &Value) -> Result<Option<RouteValidator>, SchemaError> {
        let Value::Object(map) = schemas else {
            return Err(SchemaError::Shape(format!(
                "expected {{ body?, query?, params?, headers? }}, got {schemas}"
            )));
        };
        if let Some(k) = map
            .keys()
            .find(|k| !["body", "query", "params", "headers"].contains(&k.as_str()))
        {
            return Err(SchemaError::Shape(format!(
                "unknown part {k:?}: use body, query, params or headers"
            )));
        }
        let part = |p: Part| match map.get(p.name()) {
            None | Some(Value::Null) => Ok(None),
            Some(schema) => Compiled::new(p, schema).map(Some),
        };
        let v = RouteValidator {
            body: part(Part::Body)?,
            query: part(Part::Query)?,
            params: part(Part::Params)?,
            headers: part(Part::Headers)?,
        };
        let any =
            v.body.is_some() || v.query.is_some() || v.params.is_some() || v.headers.is_some();
        Ok(any.then_some(v))
    }

    /// Checks `req`: the coerced query, params and headers as one JSON text
    /// `{"query":…,"param":…,"header":…}` (the parts that have a schema;
    /// `None` when only the body has one), or every violation.
    pub fn check(&self, req: &Request<'_>) -> Result<Option<String>, Vec<Violation>> {
        let mut violations = Vec::new();
        if let Some(c) = &self.body {
            match input::json_body(req.headers, req.body) {
                Ok(value) => c.check(Part::Body, &value, &mut violations),
                Err(message) => violations.push(Violation {
                    part: Part::Body,
                    path: String::new(),
                    message,
                }),
            }
        }
        let mut coerced = Map::new();
        if let Some(c) = &self.query {
            let pairs = query_pairs(req.target);
            let value = c.plan.object(pairs.iter().map(|(k, v)| (&**k, &**v)));
            c.check(Part::Query, &value, &mut violations);
            coerced.insert(Part::Query.target().to_owned(), value);
        }
        if let Some(c) = &self.params {
            let value = c
                .plan
                .object(req.params.iter().map(|(k, v)| (&**k, v.as_str())));
            c.check(Part::Params, &value, &mut violations);
            coerced.insert(Part::Params.target().to_owned(), value);
        }
        if let Some(c) = &self.headers {
            let joined = input::joined_headers(req.headers);
            let value = c.plan.object(joined.iter().map(|(k, v)| (*k, v.as_str())));
            c.check(Part::Headers, &value, &mut violations);
            coerced.insert(Part::Headers.target().to_owned(), value);
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        Ok((!coerced.is_empty()).then(|| Value::Object(coerced).to_string()))
    }
}

/// The 400 for `violations`: `{"error":"Bad Request","message":…,"errors":[{"in","path","message"}]}`.
pub fn refusal(violations: &[Violation]) -> Reply {
    let n = violations.len();
    let listed = &violations[..n.min(MAX_LISTED)];
    let mut message = format!(
        "the request does not match the route's schema ({n} violation{})",
        if n == 1 { "" } else { "s" }
    );
    if n > MAX_LISTED {
        message.push_str(&format!("; the first {MAX_LISTED} are listed"));
    }
    let errors: Vec<Value> = listed
        .iter()
        .map(|v| json!({ "in": v.part.name(), "path": v.path, "message": v.message }))
        .collect();
    let mut body = crate::kernel::error_json("Bad Request", &message);
    body["errors"] = Value::Array(errors);
    Reply::json(StatusCode::BAD_REQUEST, body.to_string())
}

/// Header names arrive lowercase: the schema's top-level property names and
/// `required` entries are lowercased to match them.
fn lowercase_names(schema: &mut Value) {
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        let old = std::mem::take(props);
        *props = old
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
    }
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        for r in required.iter_mut() {
            if let Value::String(s) = r {
                *s = s.to_ascii_lowercase();
            }
        }
    }
}
