//! The harness, room by room: one test binary (one link instead of one per
//! file), a module per concern. Run one with
//! `cargo test --test harness -- <module>::` (e.g. `runner::`).
//!
//! - `cli`: the real binary as a user drives it.
//! - `coverage`: the library covers every documented status and error code.
//! - `faults`: the library catches a reference server with one deliberate
//!   fault, area by area.
//! - `fuzz`: the fuzzer and `replay` end to end.
//! - `hostile_targets`, `money_guard`, `secrets`: targets that misbehave,
//!   real money, secrets that must never leave a run.
//! - `layers`: failures against the documented contract, departures from
//!   the reference server's choices.
//! - `reports`: every report format.
//! - `runner`: the runner against a tiny in-test server and the bundled one.
//! - `scenario_loader`: loading, include expansion and lint of scenarios.
//!
//! The reference server over HTTP is tested by `tests/server/`; the scenario
//! library itself, the deployment run, and the spec with what needs
//! material from outside the repository by `tests/conformance/`.

// Helpers shared by the hostile-target, secrets and money tests, a raw
// HTTP/1.1 server that answers whatever a test writes, and a tiny in-test
// server for the runner's tests.
#[path = "../fixtures/hostile/common.rs"]
mod common;
#[path = "../fixtures/mock_stdout.rs"]
mod mock_stdout;
#[path = "../fixtures/hostile/raw.rs"]
mod raw;
#[path = "../fixtures/runner/tiny.rs"]
mod tiny;

mod cli;
mod coverage;
mod faults;
mod fuzz;
mod hostile_targets;
mod layers;
mod money_guard;
mod reports;
mod runner;
mod scenario_loader;
mod secrets;
