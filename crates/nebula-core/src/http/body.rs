//! The response body type shared by every part of the HTTP layer.
use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Either, Full};

/// A whole-in-memory body (the common case) or a stream (large static files).
pub type Body = Either<Full<Bytes>, UnsyncBoxBody<Bytes, std::io::Error>>;

/// A body whose bytes are all in memory.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(bytes.into()))
}

/// An empty body.
pub fn empty() -> Body {
    full(Bytes::new())
}

/// A streamed body.
pub fn stream<B>(body: B) -> Body
where
    B: http_body::Body<Data = Bytes, Error = std::io::Error> + Send + 'static,
{
    Either::Right(body.boxed_unsync())
}
