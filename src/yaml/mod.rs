//! YAML → `serde_json::Value`, keeping where each node was written.
//! (Owned by the scenario-loader work; used by the spec loader too.)
