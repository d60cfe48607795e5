//! JWT verification (stub: being written).
