//! The one mapping from the core's typed errors to JS exceptions. An error
//! whose kind (`nebula_core::kernel::Classify`) is `Invalid` (bad options,
//! unknown names: the call must change) throws with `code: 'InvalidArg'`; a
//! failure at run time (I/O, a refused connection, a process that did not
//! start, a timeout) with `code: 'GenericFailure'`. The message is the
//! error's text, which names its cause where the core's text does.
use napi::{Error, Status};
use nebula_core::kernel::{Classify, ErrorKind};

/// The napi status of an error kind.
pub(super) fn status(kind: ErrorKind) -> Status {
    match kind {
        ErrorKind::Invalid => Status::InvalidArg,
        ErrorKind::Failed => Status::GenericFailure,
    }
}

/// `err` as a JS exception: `.map_err(to_js)?`.
pub(super) fn to_js<E: Classify>(err: E) -> Error {
    Error::new(status(err.kind()), err.to_string())
}

/// `err` as a JS exception whose message starts with `context` (the text the
/// binding always put first, e.g. `"services: "`): `.map_err(to_js_in("services: "))?`.
pub(super) fn to_js_in<E: Classify>(context: &str) -> impl FnOnce(E) -> Error + '_ {
    move |err| Error::new(status(err.kind()), format!("{context}{err}"))
}

/// A failure of the binding itself (a task that panicked): `GenericFailure`.
pub(super) fn failure(message: impl Into<String>) -> Error {
    Error::new(Status::GenericFailure, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nebula_core::kernel::LayerError;

    #[test]
    fn kinds_pick_the_status_and_the_text_stays() {
        let bad = to_js(LayerError::Invalid("jwt: public must be a boolean".into()));
        assert_eq!(bad.status, Status::InvalidArg);
        assert_eq!(bad.reason, "jwt: public must be a boolean");
        let down = to_js_in("cache: ")(LayerError::Failed("redis is unreachable".into()));
        assert_eq!(down.status, Status::GenericFailure);
        assert_eq!(down.reason, "cache: redis is unreachable");
    }
}
