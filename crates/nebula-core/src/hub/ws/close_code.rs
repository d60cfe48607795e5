//! Close status codes (RFC 6455 section 7.4).

/// Normal closure.
pub const NORMAL: u16 = 1000;
/// The endpoint is going away (server shutdown, idle timeout).
pub const GOING_AWAY: u16 = 1001;
/// The peer broke the protocol.
pub const PROTOCOL_ERROR: u16 = 1002;
/// The peer sent a kind of data the endpoint cannot accept.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// Reported (never sent) when a close frame carried no code.
pub const NO_STATUS: u16 = 1005;
/// Reported (never sent) when the connection dropped without a close frame.
pub const ABNORMAL: u16 = 1006;
/// A text message (or close reason) was not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// The message violates a policy (for example an expired token).
pub const POLICY: u16 = 1008;
/// The message was too big to process.
pub const TOO_BIG: u16 = 1009;
/// The server hit an unexpected condition.
pub const INTERNAL_ERROR: u16 = 1011;

/// Whether a peer may send `code` in a close frame: 1000–1003, 1007–1014
/// (the registered codes) and 3000–4999 (libraries and applications).
/// 1004–1006 and 1015 are reserved and never sent on the wire.
pub fn is_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_codes() {
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(is_valid(code), "{code} should be valid");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid(code), "{code} should be invalid");
        }
    }
}
