//! The app through its public API.
