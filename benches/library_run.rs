//! The whole library against the bundled server, in process, as `run`
//! does it (spec load and validator compilation, library load and
//! expansion, then every scenario with `jobs` = cores), at 1×, 2× and 4×
//! copies of the library, to show that the cost grows linearly with the
//! number of scenarios.
//!
//! Not a criterion benchmark: one iteration takes seconds, so it runs a
//! few repetitions (`BENCH_REPS`, default 3) and prints the best and the
//! median of each, and the time per scenario. Arguments other than flags
//! filter like criterion's: `cargo bench --bench library_run -- 1x`.

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use agentgigs_conformance::report::model::RunReport;
use agentgigs_conformance::runner::run;
use agentgigs_conformance::spec::Spec;

fn once(copies: usize) -> (Duration, RunReport) {
    let t0 = Instant::now();
    let spec = std::sync::Arc::new(Spec::load(&common::spec_path()).expect("the spec loads"));
    let planned = common::planned(copies, None);
    let plan = common::plan(spec, planned);
    let rt = common::runtime();
    let report = rt.block_on(run(plan));
    drop(rt);
    (t0.elapsed(), report)
}

/// Resets the peak RSS of this process (Linux: `5` into `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[allow(clippy::print_stdout)]
fn main() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut base_per_scenario: Option<f64> = None;
    for copies in [1usize, 2, 4] {
        let name = format!("library_run/{copies}x");
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let mut times = Vec::new();
        let mut last = None;
        reset_peak_rss();
        for _ in 0..reps {
            let (t, report) = once(copies);
            times.push(t);
            last = Some(report);
        }
        times.sort();
        let report = last.expect("at least one repetition");
        let t = &report.totals;
        let best = times[0];
        let median = times[times.len() / 2];
        let per = median.as_secs_f64() * 1000.0 / t.total.max(1) as f64;
        let scale = base_per_scenario
            .map(|b| format!("  ×{:.2} per scenario vs 1x", per / b))
            .unwrap_or_default();
        if copies == 1 {
            base_per_scenario = Some(per);
        }
        let rss = peak_rss_kb()
            .map(|kb| format!("  peak RSS {} MB", kb / 1024))
            .unwrap_or_default();
        println!(
            "{name:<18} best {:>7.3} s  median {:>7.3} s  ({} scenarios: {} passed, {} failed, {} errored; {} requests)  {per:.1} ms/scenario{scale}{rss}",
            best.as_secs_f64(),
            median.as_secs_f64(),
            t.total,
            t.passed,
            t.failed,
            t.errored,
            t.requests,
        );
    }
}
