//! The runner: executes scenarios against a target and records the results.
