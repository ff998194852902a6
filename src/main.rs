//! `agentgigs-conformance`: see `agentgigs-conformance --help`.

fn main() -> std::process::ExitCode {
    agentgigs_conformance::cli::main()
}
