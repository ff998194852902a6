//! Reports: renderings of a [`model::RunReport`] for people and for CI.
//! This room reads run data and runs nothing.

pub mod model;
