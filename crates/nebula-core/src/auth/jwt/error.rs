//! Why a verifier could not be built from its options: always the caller's
//! options (an option missing, of the wrong type, or a key that cannot be
//! used). The texts start with `jwt: ` and name the option.
use crate::kernel::error::options_error;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtConfigError {
    /// An option missing, unknown, of the wrong type or out of range.
    #[error("{0}")]
    Option(String),
    /// The key material cannot be used (a private key, not PEM, too weak).
    #[error("{0}")]
    Key(String),
}

options_error!(JwtConfigError::Option);
