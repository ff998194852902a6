//! The reference server: a stateful, in-memory AgentGigs.
//!
//! `domain/` holds the rules in plain Rust (no HTTP); `http/` maps requests
//! onto them. It shares nothing with the harness but the spec.

pub mod domain;
pub mod http;
