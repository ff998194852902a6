//! The HTTP layer of the reference server: axum routes, auth, SSE/WebSocket, control API.
//!
//! Every request that touches the marketplace goes through
//! [`AppState`]: one lock, `tick()`, the domain call, drain the event outbox,
//! unlock, publish. No business rule lives here beyond mapping requests to
//! domain calls, building response envelopes and the deliberate faults of
//! [`KNOWN_FAULTS`]. Every answer, errors included, is JSON (except the
//! `/files/{token}` bytes and the event stream).

mod auth;
mod control;
mod error;
mod events;
mod extract;
mod jwt;
mod routes;
mod server;

pub use server::{AppState, KNOWN_FAULTS, router};
