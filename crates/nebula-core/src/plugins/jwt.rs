//! jwt: `Authorization: Bearer` JWTs verified in Rust (the JS face is
//! `JwtAuthPlugin`, priority SECURITY).
//!
//! Plugin options: the verifier's ([`JwtConfig`]). Layer options, per route
//! handler: `public: true` (no layer at all), `permissions: [..]` (every one
//! required) and `roles: [..]` (any one required). A refused request is
//! answered here and never enters JavaScript: 401 with `WWW-Authenticate`
//! for a missing or invalid token, 403 for missing permissions or roles.
//! A verified token's claims are handed to JavaScript as `ctx.get("user")`.
//! CORS preflights (OPTIONS with `Origin` and `Access-Control-Request-Method`)
//! pass without a token.
use std::sync::Arc;

use hyper::header::{
    HeaderValue, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, ORIGIN, WWW_AUTHENTICATE,
};
use hyper::{Method, StatusCode};
use serde_json::Value;

use super::PluginError;
use crate::auth::jwt::{bearer_token, claim_contains, JwtConfig, JwtError, JwtVerifier};
use crate::kernel::{Flow, LayerCtx, LayerError, NativeLayer, NativePlugin, Reply};

/// The key under which the claims reach JavaScript (`ctx.get("user")`).
pub use crate::kernel::locals::USER as USER_KEY;

/// Creates the plugin from the verifier's options (errors name the option).
pub fn create(options: &Value) -> Result<Arc<dyn NativePlugin>, PluginError> {
    let config = JwtConfig::from_json(options)?;
    let verifier = JwtVerifier::new(&config)?;
    Ok(Arc::new(JwtPlugin {
        verifier: Arc::new(verifier),
        claims_permissions: config.claims_permissions.into(),
        claims_roles: config.claims_roles.into(),
    }))
}

/// Shared by every layer of an engine: the verifier (key built once) and
/// where the claims keep permissions and roles.
pub struct JwtPlugin {
    verifier: Arc<JwtVerifier>,
    claims_permissions: Arc<str>,
    claims_roles: Arc<str>,
}

impl NativePlugin for JwtPlugin {
    fn layer(&self, options: &Value) -> Result<Option<Arc<dyn NativeLayer>>, LayerError> {
        let empty = serde_json::Map::new();
        let obj = match options {
            Value::Object(obj) => obj,
            Value::Null => &empty,
            _ => return Err("jwt: route options must be an object".into()),
        };
        let public = match obj.get("public") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("jwt: public must be a boolean".into()),
        };
        let permissions = string_list(obj.get("permissions"), "permissions")?;
        let roles = string_list(obj.get("roles"), "roles")?;
        if public {
            if !permissions.is_empty() || !roles.is_empty() {
                return Err("jwt: a public route cannot require permissions or roles".into());
            }
            return Ok(None);
        }
        let roles_message = match roles.as_slice() {
            [] => String::new(),
            [one] => format!("missing role {one}"),
            many => format!("missing one of the roles {}", many.join(", ")),
        };
        Ok(Some(Arc::new(JwtLayer {
            verifier: self.verifier.clone(),
            claims_permissions: self.claims_permissions.clone(),
            claims_roles: self.claims_roles.clone(),
            permissions,
            roles,
            roles_message,
        })))
    }
}

/// A list of non-empty strings (absent or null: empty).
fn string_list(value: Option<&Value>, name: &str) -> Result<Vec<String>, String> {
    let bad = || format!("jwt: {name} must be an array of non-empty strings");
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

/// One route handler's check.
pub struct JwtLayer {
    verifier: Arc<JwtVerifier>,
    claims_permissions: Arc<str>,
    claims_roles: Arc<str>,
    /// All required.
    permissions: Vec<String>,
    /// Any one required (none listed: no role check).
    roles: Vec<String>,
    roles_message: String,
}

impl JwtLayer {
    /// The 403 for claims that lack a required permission or role.
    fn forbidden(&self, claims: &Value) -> Option<Reply> {
        let perms = &*self.claims_permissions;
        if let Some(p) = self
            .permissions
            .iter()
            .find(|p| !claim_contains(claims, perms, p))
        {
            return Some(forbidden(&format!("missing permission {p}")));
        }
        let roles = &*self.claims_roles;
        if !self.roles.is_empty() && !self.roles.iter().any(|r| claim_contains(claims, roles, r)) {
            return Some(forbidden(&self.roles_message));
        }
        None
    }
}

impl NativeLayer for JwtLayer {
    fn name(&self) -> &'static str {
        "jwt"
    }

    fn before(&self, ctx: &mut LayerCtx<'_>) -> Flow {
        if is_preflight(ctx) {
            return Flow::Continue;
        }
        let mut values = ctx.headers.get_all(AUTHORIZATION).iter();
        let value = match (values.next(), values.next()) {
            (None, _) => return Flow::Respond(unauthorized(&JwtError::Missing)),
            (Some(_), Some(_)) => {
                return Flow::Respond(invalid("more than one Authorization header"))
            }
            (Some(v), None) => v,
        };
        let Ok(value) = value.to_str() else {
            return Flow::Respond(unauthorized(&JwtError::Malformed));
        };
        let claims = match bearer_token(value).and_then(|t| self.verifier.verify(t)) {
            Ok(claims) => claims,
            Err(e) => return Flow::Respond(unauthorized(&e)),
        };
        if let Some(reply) = self.forbidden(&claims) {
            return Flow::Respond(reply);
        }
        ctx.locals.push((USER_KEY.to_owned(), claims));
        Flow::Continue
    }
}

/// A CORS preflight: answered by the CORS layer or the route, never challenged.
fn is_preflight(ctx: &LayerCtx<'_>) -> bool {
    ctx.method == Method::OPTIONS
        && ctx.headers.contains_key(ORIGIN)
        && ctx.headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// 401 with the challenge RFC 6750 asks for: a bare `Bearer` when no bearer
/// credentials were sent, `error="invalid_token"` when they were refused.
fn unauthorized(err: &JwtError) -> Reply {
    match err {
        JwtError::Missing | JwtError::NotBearer => {
            let mut reply = Reply::error(StatusCode::UNAUTHORIZED, &err.to_string());
            reply
                .headers
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            reply
        }
        _ => invalid(&err.to_string()),
    }
}

fn invalid(message: &str) -> Reply {
    let mut reply = Reply::error(StatusCode::UNAUTHORIZED, message);
    reply.headers.insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    reply
}

fn forbidden(message: &str) -> Reply {
    let mut reply = Reply::error(StatusCode::FORBIDDEN, message);
    reply.headers.insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer error=\"insufficient_scope\""),
    );
    reply
}

#[cfg(test)]
mod tests;
