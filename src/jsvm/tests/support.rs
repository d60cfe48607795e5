pub use super::super::*;
