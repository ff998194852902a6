//! Secrets: the registry of every secret value a run knows, and redaction.
