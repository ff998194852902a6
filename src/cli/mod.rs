//! The command line: clap definitions and wiring, no logic.
