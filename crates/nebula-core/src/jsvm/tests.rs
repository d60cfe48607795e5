//! Tests of the script VM through its public API (hooks in a tempdir).
mod api;
mod event;
mod hub;
mod limits;
mod misc;
mod reload;
mod support;
