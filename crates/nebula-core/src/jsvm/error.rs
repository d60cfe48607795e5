//! Why the script VM's options cannot be used (always the caller's options;
//! the texts start with `jsvm: ` and name the option). A generation that does
//! not load is a [`LoadError`](super::LoadError), a failure at run time.
use crate::kernel::error::options_error;
use crate::support::error::OptionError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsvmConfigError {
    /// An option missing, unknown or of the wrong type.
    #[error("{0}")]
    Invalid(String),
    /// A file `pattern` outside the supported subset.
    #[error("jsvm: pattern {0:?} is not supported: use ^.*SUFFIX$, ^.*(A|B)$ or *SUFFIX")]
    Pattern(String),
    /// An integer option out of its range.
    #[error("jsvm: {0}")]
    Option(#[source] OptionError),
}

options_error!(JsvmConfigError::Invalid);
