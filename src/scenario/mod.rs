//! Scenarios: the model of a scenario file and its loader.
//! Knows nothing of HTTP or targets.

pub mod model;

pub use model::*;
