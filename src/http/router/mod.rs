//! Router: see the module docs.
