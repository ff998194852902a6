//! The schema-driven fuzzer (`agentgigs-conformance fuzz` and `replay`).
//!
//! From each operation of the spec it derives valid requests (proptest
//! strategies over the parameter and body schemas, fed with real actors,
//! ids and categories provisioned through the control API) and invalid
//! ones (one mutation of a valid body each), sends them, and checks every
//! answer with the spec. A failure is shrunk with proptest to a minimal
//! request, rendered as a curl command without secrets and saved to a
//! corpus file that [`replay`] can send again to any target.
//!
//! It never prints and never writes outside the corpus directory it is given.

pub mod schema;
pub mod strategy;
pub mod mutate;
