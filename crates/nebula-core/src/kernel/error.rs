//! What kind of error crossed a module boundary: the caller's input could not
//! be used (bad options, an unknown name: fix the call), or the work failed at
//! run time (I/O, a refused connection, a process that did not start, a
//! timeout: the same call may work later). Every typed error of the crate
//! that reaches the JS face implements [`Classify`]; the binding turns
//! [`ErrorKind::Invalid`] into `InvalidArg` and [`ErrorKind::Failed`] into
//! `GenericFailure`, the message being the error's `Display` text.

/// Whose fault, seen from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input (options, arguments, names) cannot be used.
    Invalid,
    /// The input was fine; doing the work failed (I/O, connect, spawn, timeout).
    Failed,
}

/// An error that knows its [`ErrorKind`].
pub trait Classify: std::error::Error {
    fn kind(&self) -> ErrorKind;

    /// The caller's input was wrong.
    fn is_bad_input(&self) -> bool {
        self.kind() == ErrorKind::Invalid
    }
}

/// `From<String>` and `From<&str>` into one variant: a check builds its
/// message and `?` turns it into that error (`from_message!(LayerError::Invalid)`).
macro_rules! from_message {
    ($ty:ident :: $variant:ident) => {
        impl From<String> for $ty {
            fn from(message: String) -> Self {
                $ty::$variant(message)
            }
        }

        impl From<&str> for $ty {
            fn from(message: &str) -> Self {
                $ty::$variant(message.to_owned())
            }
        }
    };
}
pub(crate) use from_message;

/// An options error, always the caller's: [`Classify`] as
/// [`ErrorKind::Invalid`], and [`from_message!`] into the given variant.
macro_rules! options_error {
    ($ty:ident :: $variant:ident) => {
        impl $crate::kernel::Classify for $ty {
            fn kind(&self) -> $crate::kernel::ErrorKind {
                $crate::kernel::ErrorKind::Invalid
            }
        }

        $crate::kernel::error::from_message!($ty::$variant);
    };
}
pub(crate) use options_error;

/// The error of a plugin's [`NativePlugin::layer`](super::NativePlugin::layer)
/// and of a layer's [`NativeLayer::call`](super::NativeLayer::call).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayerError {
    /// Layer options or an operation's argument that cannot be used; the text
    /// names the plugin and the option.
    #[error("{0}")]
    Invalid(String),
    /// The layer has no operation of that name.
    #[error("{layer} has no operation {op:?}")]
    UnknownOp { layer: String, op: String },
    /// The operation was fine but failed (a store that did not answer).
    #[error("{0}")]
    Failed(String),
}

impl Classify for LayerError {
    fn kind(&self) -> ErrorKind {
        match self {
            LayerError::Invalid(_) | LayerError::UnknownOp { .. } => ErrorKind::Invalid,
            LayerError::Failed(_) => ErrorKind::Failed,
        }
    }
}

// Option checks build their message and `?` it: it is an invalid option.
from_message!(LayerError::Invalid);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_errors_say_whose_fault() {
        assert!(LayerError::from("jwt: public must be a boolean").is_bad_input());
        let unknown = LayerError::UnknownOp {
            layer: "cache".into(),
            op: "nope".into(),
        };
        assert_eq!(unknown.to_string(), r#"cache has no operation "nope""#);
        assert!(unknown.is_bad_input());
        let down = LayerError::Failed("redis is unreachable".into());
        assert_eq!(down.kind(), ErrorKind::Failed);
        assert_eq!(down.to_string(), "redis is unreachable");
    }
}
