//! Checks: a scenario's expectations against a response or an event, as findings.
