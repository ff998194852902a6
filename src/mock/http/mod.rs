//! The HTTP layer of the reference server: axum routes, auth, SSE/WebSocket, control API.
//!
//! Every request that touches the marketplace goes through
//! [`AppState`]: one lock, `tick()`, the domain call, drain the event outbox,
//! unlock, publish. No business rule lives here beyond mapping requests to
//! domain calls, building response envelopes, the deliberate faults of
//! [`KNOWN_FAULTS`] and the choice switches of [`KNOWN_CHOICES`]. Every
//! answer, errors included, is JSON (except the `/files/{token}` bytes and
//! the event stream).

mod auth;
mod choice;
mod contract;
mod control;
mod error;
mod events;
mod extract;
mod jwt;
mod race;
mod routes;
mod server;
mod webhooks;

pub use choice::KNOWN_CHOICES;
pub use control::CONTROL_FEATURES;
pub use server::{AppState, KNOWN_FAULTS, router};

/// Checks that a documented contract (an OpenAPI document, YAML or JSON) can
/// be read by the `documented_fields_only` and `renamed_fields` choices.
pub(crate) fn check_contract(text: Option<&str>) -> Result<(), String> {
    match text {
        Some(t) => contract::Contract::parse(t).map(|_| ()),
        None => contract::Contract::embedded().map(|_| ()),
    }
}
