//! `agentgigs-conformance`: see `agentgigs-conformance --help`.

/// mimalloc rather than the system's allocator: 5-10% less CPU for a run
/// (benches/README.md, issue 13).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    agentgigs_conformance::cli::main()
}
