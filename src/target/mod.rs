//! Targets: where a run points, its profile, its control API and actors.
