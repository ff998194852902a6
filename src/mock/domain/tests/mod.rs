//! Unit and model-based tests of the marketplace rules.
