//! The HTML report in a real browser: a report of a real run (bundled
//! server with the reference layer, a few library scenarios, one that
//! fails on purpose and one that departs from the reference server on
//! purpose) rendered by headless Chromium, the page and its screenshot kept
//! at `target/tmp/html-report.html` and `target/tmp/html-report.png`
//! (`target` is wherever `CARGO_TARGET_DIR` says), its DOM after the page's
//! script checked, also with the `#failed` / `#departs` filters.
//!
//! Ignored, saying why, when no Chromium is installed (set `CHROMIUM` to a
//! browser binary to choose one). Every browser process is bounded by a
//! timeout. This file only renders and looks: it fixes nothing.

#![allow(clippy::print_stderr)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agentgigs_conformance::report::model::RunReport;
use agentgigs_conformance::report::{self, Coverage, Format};
use agentgigs_conformance::runner::{PlannedScenario, RunOptions, RunPlan, run};
use agentgigs_conformance::scenario::{load_library, parse_scenario};
use agentgigs_conformance::spec::{Contract, DOCUMENTED_SPEC, REFERENCE_OVERLAY, Spec};
use agentgigs_conformance::target::TargetSpec;

/// The scenarios of the real library in the report.
const REAL: &[&str] = &[
    "meta.help-and-categories",
    "auth.login-and-register",
    "lifecycle.no-proof-happy-path",
];
/// The scenario of `tests/fixtures/cli/failing` that fails on purpose.
const FAILING: &str = "probe.help-is-not-found";
/// A scenario that keeps the documented contract but departs, on purpose,
/// from a (false) choice of our reference server: it passes and departs.
const DEPARTING: &str = "probe.categories-depart";
const DEPARTING_YAML: &str = r#"
id: probe.categories-depart
title: A deliberately false reference choice about GET /api/categories
doc: ["openapi:GET /api/categories"]
rule: GET /api/categories answers a 2xx; our reference server answers 203 (this choice is false on purpose).
tags: [probe]
level: must
requires: [actors]
actors:
  agent: {role: agent, specializations: [Research]}
steps:
  - name: the categories
    as: agent
    request: {method: GET, path: /api/categories}
    expect:
      status: 2xx
      reference:
        status: 203
"#;
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// The reference layer: the documented contract with our reference server's
/// choices (`specs/reference.overlay.yaml`) applied, which is what the
/// reference server serves.
fn reference_spec(root: &Path) -> Spec {
    let documented = Spec::load(&root.join(DOCUMENTED_SPEC)).expect("the documented spec loads");
    let overlay = std::fs::read_to_string(root.join(REFERENCE_OVERLAY)).expect("the reference overlay");
    Contract::reference_of(&documented, &overlay, REFERENCE_OVERLAY).expect("the overlay applies")
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A Chromium binary: `$CHROMIUM`, else the usual names on `PATH` and in
/// `/usr/bin`; else why there is none.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CHROMIUM").map(PathBuf::from) {
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("CHROMIUM=`{}` is not a file", p.display()))
        };
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push(PathBuf::from("/usr/bin"));
    dirs.iter()
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("none of {names:?} is on PATH or in /usr/bin (set CHROMIUM=/path/to/chromium)"))
}

/// Runs the real scenarios, the failing fixture and the departing scenario
/// against the bundled server, with the reference layer.
fn real_run() -> (RunReport, Coverage) {
    let contract = Contract::load(
        &manifest().join("specs/agentgigs.openapi.yaml"),
        Some(&manifest().join("specs/reference.overlay.yaml")),
    )
    .expect("the spec and the reference layer load");
    // Coverage counts the reference layer (every status and code our server has).
    let spec = reference_spec(manifest());
    let mut planned = Vec::new();
    let real = load_library(&manifest().join("scenarios")).unwrap_or_else(|e| panic!("the library loads: {e}"));
    for id in REAL {
        let s = real
            .scenario(id)
            .unwrap_or_else(|| panic!("no scenario `{id}` in the library"));
        planned.push(PlannedScenario::new(s.clone(), real.expand(s).expect("expands")));
    }
    let fixture = load_library(&manifest().join("tests/fixtures/cli/failing/scenarios")).expect("the fixture loads");
    for s in &fixture.scenarios {
        planned.push(PlannedScenario::new(s.clone(), fixture.expand(s).expect("expands")));
    }
    let departing = parse_scenario(DEPARTING_YAML, "scenarios/probe/categories-depart.yaml").expect("parses");
    let steps = departing.steps.clone();
    planned.push(PlannedScenario::new(departing, steps));
    let options = RunOptions {
        jobs: 2,
        ..RunOptions::default()
    };
    let plan = RunPlan {
        contract,
        scenarios: planned,
        target: TargetSpec::Bundled,
        options,
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(120), run(plan))
            .await
            .expect("the run ends")
    });
    let ops: Vec<(String, String, Vec<String>)> = spec
        .operations()
        .iter()
        .map(|o| (o.method.clone(), o.path.clone(), o.statuses.clone()))
        .collect();
    let coverage = Coverage::from_reports(&ops, &spec.error_codes(), &report.scenarios);
    (report, coverage)
}

/// Runs the browser with `args` then `url`; returns its stdout.
fn browser(chromium: &Path, profile: &Path, args: &[&str], url: &str) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap_or_default()
}

/// Screenshots `url` to `png` and checks the picture is not trivial.
fn screenshot(chromium: &Path, profile: &Path, url: &str, png: &Path) {
    let _ = std::fs::remove_file(png);
    browser(chromium, profile, &[&format!("--screenshot={}", png.display())], url);
    let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
    // A blank 1400×2000 PNG is a few kilobytes; a rendered report is far more.
    assert!(
        size > 50_000,
        "the screenshot `{}` is {size} bytes: nothing rendered?",
        png.display()
    );
    eprintln!("screenshot: {}", png.display());
}

/// The `<details class="scenario ...">` opening tag of a scenario in a DOM dump.
fn scenario_tag<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"s-{id}\""))
        .unwrap_or_else(|| panic!("no scenario `{id}` in the DOM"));
    let start = dom[..at].rfind('<').expect("tag start");
    let end = at + dom[at..].find('>').expect("tag end");
    &dom[start..=end]
}

fn the_html_report_renders_in_chromium() {
    let chromium = chromium().unwrap_or_else(|why| panic!("no Chromium (it was there before the run): {why}"));
    let (report, coverage) = real_run();
    let t = &report.totals;
    assert!(
        t.failed >= 1 && t.passed >= REAL.len() && t.departing == 1,
        "{t:?}: {:#?}",
        report.scenarios.iter().map(|s| (&s.id, &s.outcome)).collect::<Vec<_>>()
    );
    let departing = report.scenarios.iter().find(|s| s.id == DEPARTING).expect("ran");
    assert!(departing.outcome.is_passed(), "{:?}", departing.outcome);
    assert!(report.reference.is_some());
    let html = report::render(Format::Html, &report, Some(&coverage)).expect("renders");

    let dir = tempfile::tempdir().expect("temp dir");
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());
    let profile = dir.path().join("profile");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"));

    // How it looks: kept for people to look at. One screenshot, of the
    // page as it opens: each Chromium start costs 1 to 2 s of the test, and
    // the filtered views below are checked in their DOM (open
    // `html-report.html#failed` or `#departs` to see them). The four
    // browsers run at once, each with its own profile.
    std::fs::write(target.join("html-report.html"), &html).unwrap();
    let failed_url = format!("{url}#failed");
    let departs_url = format!("{url}#departs");
    let [dom, failed_dom, departs_dom] = std::thread::scope(|s| {
        let shot = s.spawn(|| screenshot(&chromium, &profile.join("shot"), &url, &target.join("html-report.png")));
        let doms = [(&url, "open"), (&failed_url, "failed"), (&departs_url, "departs")].map(|(u, name)| {
            let (chromium, profile) = (&chromium, &profile);
            s.spawn(move || browser(chromium, &profile.join(name), &["--dump-dom"], u))
        });
        let doms = doms.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        shot.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        doms
    });

    // The DOM after the script ran: totals, filters, the failure open with both panes.
    assert!(dom.contains("<html"), "no DOM dumped:\n{dom}");
    for (n, label) in [(t.total, "scenarios"), (t.passed, "passed")] {
        let stat = format!("<span class=\"num\">{n}</span><span class=\"lbl\">{label}</span>");
        assert!(dom.contains(&stat), "no `{stat}` in the DOM");
    }
    assert!(dom.contains(&format!(
        "<span class=\"num\">{}</span><span class=\"lbl\">failed",
        t.failed
    )));
    for filter in [
        "data-outcome-filter=\"failed\"",
        "data-area-filter=\"probe\"",
        "id=\"q\"",
        "id=\"expand-all\"",
    ] {
        assert!(dom.contains(filter), "no `{filter}` in the DOM");
    }
    let failing = scenario_tag(&dom, FAILING);
    assert!(failing.contains(" open") && !failing.contains("hidden"), "{failing}");
    assert!(dom.contains("class=\"pane req\"") && dom.contains("class=\"pane resp\""));
    assert!(dom.contains("status 200, expected 4xx"), "the failing probe is shown");
    assert!(
        dom.contains("The help manifest answers a client error"),
        "the rule is not shown"
    );
    assert!(dom.contains("id=\"coverage\""));
    assert!(
        dom.contains(&format!("<a href=\"#s-{}\">", REAL[0])),
        "coverage does not link the scenarios"
    );

    // `#failed` preselects the outcome filter: only failures stay visible.
    let dom = failed_dom;
    let passing = scenario_tag(&dom, REAL[0]);
    assert!(
        passing.contains("hidden"),
        "`#failed` left a passed scenario visible: {passing}"
    );
    assert!(
        !scenario_tag(&dom, FAILING).contains("hidden"),
        "`#failed` hid the failure"
    );
    assert!(
        scenario_tag(&dom, DEPARTING).contains("hidden"),
        "`#failed` left a scenario that only departs visible"
    );
    let chip =
        regex::Regex::new(r#"<button[^>]*class="chip"[^>]*data-outcome-filter="failed"[^>]*aria-pressed="true""#)
            .unwrap();
    assert!(chip.is_match(&dom), "the `Failed` chip is not pressed");

    // `#departs` keeps the scenarios that depart from the reference server
    // (a passed one here), whatever their outcome, and hides the rest:
    // the failure and the scenarios that pass without departing.
    let dom = departs_dom;
    let departing = scenario_tag(&dom, DEPARTING);
    assert!(
        !departing.contains("hidden") && departing.contains("data-outcome=\"passed\""),
        "`#departs` hid the departing scenario: {departing}"
    );
    for id in [REAL[0], FAILING] {
        assert!(
            scenario_tag(&dom, id).contains("hidden"),
            "`#departs` left `{id}` visible"
        );
    }
    let chips = regex::Regex::new(
        r#"<button[^>]*class="(chip dep|stat departs)"[^>]*data-outcome-filter="departs"[^>]*aria-pressed="true""#,
    )
    .unwrap();
    assert_eq!(
        chips.find_iter(&dom).count(),
        2,
        "the `departs` chip and stat are not both pressed"
    );
    assert!(dom.contains("<section class=\"departures\">"), "no departures block");
    assert!(dom.contains("203"), "the departure does not say what was expected");
    assert!(
        dom.contains(&format!(
            "<span class=\"num\">{}</span><span class=\"lbl\">departures · 1 scenario</span>",
            t.departures
        )),
        "no departures count in the totals"
    );
}

pub fn trials() -> Vec<libtest_mimic::Trial> {
    let chromium = chromium().map(drop).map_err(|why| format!("needs a Chromium: {why}"));
    vec![trial!(the_html_report_renders_in_chromium, needs chromium)]
}
