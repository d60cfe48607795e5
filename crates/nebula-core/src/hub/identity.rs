//! Who a connection is: client id, name and permissions, from verified JWT
//! claims (GoHub's `{user_id, username, permissions[]}`) or, when anonymous
//! access is allowed, from the query.
use serde_json::Value;

/// GoHub's permissions. `admin:system` grants every other one.
pub const READ_MESSAGE: &str = "read:message";
pub const SEND_MESSAGE: &str = "send:message";
pub const CREATE_ROOM: &str = "create:room";
pub const DELETE_ROOM: &str = "delete:room";
pub const JOIN_ROOM: &str = "join:room";
pub const LEAVE_ROOM: &str = "leave:room";
pub const ADMIN_ROOM: &str = "admin:room";
pub const ADMIN_SYSTEM: &str = "admin:system";

/// What an anonymous client may do unless configured otherwise.
pub const ANONYMOUS_DEFAULT: [&str; 4] = [READ_MESSAGE, SEND_MESSAGE, JOIN_ROOM, LEAVE_ROOM];

/// What every anonymous client id starts with.
pub const ANON_PREFIX: &str = "anon:";

/// Longest client id accepted from a token or the query (bytes).
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// A connected client's identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub id: String,
    pub username: Option<String>,
    pub permissions: Vec<String>,
    /// No token was presented.
    pub anonymous: bool,
    /// The token's `exp` (seconds since the epoch), for closing the socket when it passes.
    pub expires_at: Option<u64>,
    /// The verified claims (null when anonymous), for TypeScript handlers.
    pub claims: Value,
}

impl Identity {
    /// Whether this client holds `permission` (or `admin:system`).
    pub fn can(&self, permission: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p == permission || p == ADMIN_SYSTEM)
    }

    /// From verified claims: id = `user_id`, else `sub`, else `fallback_id`
    /// (a random id: a token holder does not pick an id the token does not
    /// name); permissions from the `permissions_claim` (a list, or a
    /// space-separated string).
    pub fn from_claims(claims: Value, permissions_claim: &str, fallback_id: String) -> Identity {
        let id = ["user_id", "sub"]
            .iter()
            .find_map(|k| match claims.get(*k) {
                Some(Value::String(s)) if valid_client_id(s) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
            .unwrap_or(fallback_id);
        let username = claims
            .get("username")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let permissions = crate::auth::jwt::claim_strings(&claims, permissions_claim)
            .into_iter()
            .map(str::to_owned)
            .collect();
        // `exp` may be fractional (the verifier accepts it): the socket closes at its floor.
        let expires_at = claims.get("exp").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f.floor() as u64))
        });
        Identity {
            id,
            username,
            permissions,
            anonymous: false,
            expires_at,
            claims,
        }
    }

    /// An anonymous client with `permissions`. Its id is `anon:` + `id`, so
    /// an anonymous client can never pass for a signed-in one.
    pub fn anonymous(id: &str, permissions: &[String]) -> Identity {
        Identity {
            id: format!("{ANON_PREFIX}{id}"),
            username: None,
            permissions: permissions.to_vec(),
            anonymous: true,
            expires_at: None,
            claims: Value::Null,
        }
    }
}

/// A client id must be short and printable (it appears in logs and JSON).
pub fn valid_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_CLIENT_ID_LEN && !id.chars().any(char::is_control)
}

/// A random id (UUID v4 format) for clients that bring none.
pub fn random_id() -> String {
    crate::support::ids::uuid_v4()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_give_id_name_and_permissions() {
        let c =
            json!({"user_id": "u1", "username": "ann", "permissions": ["join:room"], "exp": 99});
        let i = Identity::from_claims(c, "permissions", "fallback".into());
        assert_eq!(i.id, "u1");
        assert_eq!(i.username.as_deref(), Some("ann"));
        assert!(i.can(JOIN_ROOM));
        assert!(!i.can(SEND_MESSAGE));
        assert_eq!(i.expires_at, Some(99));
        assert!(!i.anonymous);
    }

    #[test]
    fn id_falls_back_to_sub_then_to_the_given_id() {
        let i = Identity::from_claims(json!({"sub": 42}), "permissions", "f".into());
        assert_eq!(i.id, "42");
        let i = Identity::from_claims(json!({"user_id": ""}), "permissions", "f".into());
        assert_eq!(i.id, "f");
    }

    #[test]
    fn a_fractional_exp_still_closes_the_socket() {
        let i = Identity::from_claims(json!({"exp": 1700000000.75}), "permissions", "f".into());
        assert_eq!(i.expires_at, Some(1_700_000_000));
    }

    #[test]
    fn anonymous_ids_have_their_own_namespace() {
        let i = Identity::anonymous("alice", &[]);
        assert_eq!(i.id, "anon:alice");
        assert!(i.anonymous);
    }

    #[test]
    fn admin_system_grants_everything() {
        let i = Identity::from_claims(
            json!({"permissions": "admin:system"}),
            "permissions",
            "x".into(),
        );
        assert!(i.can(CREATE_ROOM) && i.can(SEND_MESSAGE) && i.can("anything:else"));
    }

    #[test]
    fn random_ids_look_like_uuids_and_differ() {
        let a = random_id();
        let b = random_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn client_ids_are_bounded_and_printable() {
        assert!(valid_client_id("user-1"));
        assert!(!valid_client_id(""));
        assert!(!valid_client_id("a\nb"));
        assert!(!valid_client_id(&"x".repeat(MAX_CLIENT_ID_LEN + 1)));
    }
}
