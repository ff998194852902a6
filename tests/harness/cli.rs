//! The command line as a user drives it: the real binary, run in a temp
//! directory, its exit codes, output and written files checked.
//!
//! Every child process is bounded by a timeout and killed past it. The
//! scenario libraries that fail on purpose live in `tests/fixtures/cli/`.
//! This file must not start servers of its own: the binary brings its own.

#![allow(clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentgigs_conformance::report::json;
use agentgigs_conformance::report::model::RunReport;
use regex::Regex;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_agentgigs-conformance");
/// The longest any one command may take.
const TIMEOUT: Duration = Duration::from_secs(120);
/// The scenario that fails in `fixtures/cli/failing`.
const FAILING: &str = "probe.help-is-not-found";
/// The scenario that passes in `fixtures/cli/failing`.
const PASSING: &str = "probe.categories";

/// `tests/fixtures/cli/NAME/scenarios`.
fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cli")
        .join(name)
        .join("scenarios");
    p.to_string_lossy().into_owned()
}

/// What a finished command left.
struct Done {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Done {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A command of the binary in `cwd`, with no color and no target from the
/// environment.
fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("AGENTGIGS_TARGET")
        .env_remove("AGENTGIGS_PROFILE")
        .env_remove("AGENTGIGS_CONTROL_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Reads a pipe to the end on a thread (so a full pipe cannot block the child).
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_string(&mut s);
        }
        s
    })
}

/// Runs a command to its end, killing it after [`TIMEOUT`].
fn finish(mut cmd: Command) -> Done {
    let mut child = cmd.spawn().expect("the binary starts");
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let done = Done {
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    };
    assert!(
        status.is_some(),
        "timed out after {TIMEOUT:?}: {cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
        done.stdout,
        done.stderr
    );
    done
}

fn cli(cwd: &Path, args: &[&str]) -> Done {
    finish(command(cwd, args))
}

fn tmp() -> TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()))
}

fn report_at(path: &Path) -> RunReport {
    json::from_json(&read(path)).unwrap_or_else(|e| panic!("`{}` is not a run report: {e}", path.display()))
}

fn ids(r: &RunReport) -> Vec<&str> {
    r.scenarios.iter().map(|s| s.id.as_str()).collect()
}

// ---------------------------------------------------------------- exit codes

#[test]
fn a_run_of_the_real_library_that_passes_exits_0() {
    let dir = tmp();
    let done = cli(
        dir.path(),
        &[
            "run",
            "--filter",
            "meta.help-and-categories",
            "--filter",
            "auth.login-and-register",
        ],
    );
    done.expect_code(0);
    assert!(
        done.stdout.contains("2 scenarios: 2 passed, 0 failed"),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("PASSED"), "{}", done.stdout);
}

#[test]
fn a_must_level_failure_exits_1() {
    let dir = tmp();
    let done = cli(dir.path(), &["run", "--scenarios", &fixture("failing")]);
    done.expect_code(1);
    assert!(done.stdout.contains("1 failed (1 must)"), "{}", done.stdout);
}

#[test]
fn bad_usage_exits_2_with_a_message() {
    let dir = tmp();
    for (args, says) in [
        (&["run", "--report", "nonsense"][..], "FORMAT=PATH"),
        (&["run", "--report", "pdf=out.pdf"][..], "unknown report format `pdf`"),
        (&["run", "--no-such-flag"][..], "unexpected argument '--no-such-flag'"),
        (&["run", "--jobs", "many"][..], "invalid value 'many'"),
        (&["frobnicate"][..], "unrecognized subcommand"),
        (&[][..], "Usage"),
        (
            &["run", "--filter", "no-scenario-has-this-in-its-id"][..],
            "no scenario matches the filters",
        ),
    ] {
        let done = cli(dir.path(), args);
        done.expect_code(2);
        assert!(
            done.stderr.contains(says),
            "{args:?}: expected `{says}` in stderr:\n{}",
            done.stderr
        );
    }
    // `--help` and `--version` are not errors.
    cli(dir.path(), &["run", "--help"]).expect_code(0);
    let v = cli(dir.path(), &["--version"]);
    v.expect_code(0);
    assert!(v.stdout.starts_with("agentgigs-conformance "), "{}", v.stdout);
}

#[test]
fn a_broken_scenario_file_exits_2_naming_file_line_and_column() {
    let dir = tmp();
    let at = Regex::new(r"scenarios/probe/unclosed\.yaml:\d+:\d+: invalid YAML").unwrap();
    for cmd in ["run", "lint", "list"] {
        let done = cli(dir.path(), &[cmd, "--scenarios", &fixture("broken")]);
        done.expect_code(2);
        assert!(at.is_match(&done.stderr), "{cmd}: no file:line:col in\n{}", done.stderr);
    }
}

#[test]
fn a_spec_that_does_not_load_exits_2() {
    let dir = tmp();
    std::fs::write(dir.path().join("bad.yaml"), "openapi: [\n").unwrap();
    let done = cli(
        dir.path(),
        &["run", "--spec", "bad.yaml", "--scenarios", &fixture("failing")],
    );
    done.expect_code(2);
    assert!(
        done.stderr.contains("cannot load the spec `bad.yaml`"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("bad.yaml:2:1"), "{}", done.stderr);
    let done = cli(
        dir.path(),
        &["run", "--spec", "missing.yaml", "--scenarios", &fixture("failing")],
    );
    done.expect_code(2);
    assert!(done.stderr.contains("missing.yaml"), "{}", done.stderr);
}

#[test]
fn an_unreachable_target_exits_3() {
    let dir = tmp();
    let done = cli(
        dir.path(),
        &[
            "run",
            "--scenarios",
            &fixture("failing"),
            "--target",
            "http://127.0.0.1:1",
            "--request-timeout",
            "2",
        ],
    );
    done.expect_code(3);
    assert!(done.stdout.contains("2 could not run"), "{}", done.stdout);
    assert!(done.stdout.contains("unreachable"), "{}", done.stdout);
    assert!(done.stdout.contains("INCOMPLETE"), "{}", done.stdout);
}

// ---------------------------------------------------------------- reports

/// How many times each element occurs in an XML text, and the attributes of `<testsuites>`.
fn xml_counts(
    xml: &str,
) -> (
    std::collections::HashMap<String, usize>,
    std::collections::HashMap<String, String>,
) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut elements = std::collections::HashMap::new();
    let mut root = std::collections::HashMap::new();
    loop {
        match reader.read_event().expect("the JUnit report is well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if name == "testsuites" {
                    for a in e.attributes() {
                        let a = a.expect("attribute");
                        root.insert(
                            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                            String::from_utf8_lossy(&a.value).into_owned(),
                        );
                    }
                }
                *elements.entry(name).or_insert(0) += 1;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (elements, root)
}

#[test]
fn every_report_format_is_written_and_they_agree() {
    let dir = tmp();
    let done = cli(
        dir.path(),
        &[
            "run",
            "--scenarios",
            &fixture("failing"),
            "--report",
            "junit=out/junit.xml",
            "--report",
            "json=out/report.json",
            "--report",
            "markdown=out/report.md",
            "--report",
            "html=out/report.html",
        ],
    );
    done.expect_code(1);
    for name in ["junit.xml", "report.json", "report.md", "report.html"] {
        assert!(
            done.stdout.contains(&format!("to out/{name}")),
            "no `wrote ... out/{name}` in\n{}",
            done.stdout
        );
    }
    let out = dir.path().join("out");

    // JSON: reads back, conforms to the schema, and the totals add up.
    let text = read(&out.join("report.json"));
    let violations = json::validate(&serde_json::from_str(&text).unwrap());
    assert!(
        violations.is_empty(),
        "the JSON report violates its schema:\n{}",
        violations.join("\n")
    );
    let report = json::from_json(&text).unwrap();
    let t = &report.totals;
    assert_eq!(
        (t.total, t.passed, t.failed, t.failed_must, t.skipped, t.errored),
        (2, 1, 1, 1, 0, 0)
    );
    assert_eq!(t.total, report.scenarios.len());
    let failed = report
        .scenarios
        .iter()
        .find(|s| s.id == FAILING)
        .expect("the failing scenario is in the report");
    assert!(failed.outcome.is_failed());

    // JUnit: one testcase per scenario; failures, errors and skips as in the JSON.
    let (elements, root) = xml_counts(&read(&out.join("junit.xml")));
    let count = |e: &str| elements.get(e).copied().unwrap_or(0);
    assert_eq!(count("testcase"), t.total);
    assert_eq!(count("failure"), t.failed);
    assert_eq!(count("error"), t.errored);
    assert_eq!(count("skipped"), t.skipped);
    let attr = |k: &str| root.get(k).and_then(|v| v.parse::<usize>().ok());
    assert_eq!(attr("tests"), Some(t.total), "{root:?}");
    assert_eq!(attr("failures"), Some(t.failed), "{root:?}");
    assert_eq!(attr("errors"), Some(t.errored), "{root:?}");
    assert_eq!(attr("skipped"), Some(t.skipped), "{root:?}");

    // Markdown: the totals row and the failing scenario.
    let md = read(&out.join("report.md"));
    let row = format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        t.total, t.passed, t.failed, t.skipped, t.errored, t.failed_must, t.steps, t.requests
    );
    assert!(md.contains(&row), "no totals row `{row}` in\n{md}");
    assert!(md.contains(FAILING), "{md}");

    // HTML: one page with the totals and nothing fetched from elsewhere.
    let html = read(&out.join("report.html"));
    assert!(html.starts_with("<!doctype html>"), "{}", &html[..100.min(html.len())]);
    for (n, label) in [
        (t.total, "scenarios"),
        (t.passed, "passed"),
        (t.failed, "failed (1 must)"),
    ] {
        let stat = format!("<span class=\"num\">{n}</span><span class=\"lbl\">{label}</span>");
        assert!(html.contains(&stat), "no `{stat}` in the HTML report");
    }
    assert!(html.contains(FAILING));
    assert_no_external_resource(&html);
}

/// No element of the page loads anything from a URL (links people click are fine).
fn assert_no_external_resource(html: &str) {
    let lower = html.to_ascii_lowercase();
    for banned in ["<link", "@import", "<iframe", "<object", "<embed"] {
        assert!(!lower.contains(banned), "the HTML report contains `{banned}`");
    }
    let loads =
        Regex::new(r#"(?i)<(script|img|audio|video|source|track|input)\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]*)"#).unwrap();
    for c in loads.captures_iter(html) {
        assert!(c[2].starts_with("data:"), "the HTML report loads `{}`", &c[2]);
    }
    let css_urls = Regex::new(r#"(?i)url\(\s*["']?([^"')]*)"#).unwrap();
    for c in css_urls.captures_iter(html) {
        assert!(c[1].starts_with("data:"), "the HTML report's CSS loads `{}`", &c[1]);
    }
    assert!(html.contains("Content-Security-Policy"), "the HTML report has no CSP");
}

// ---------------------------------------------------------------- --last-failed

#[test]
fn last_failed_reruns_only_the_scenarios_that_failed() {
    let dir = tmp();
    cli(dir.path(), &["run", "--scenarios", &fixture("failing")]).expect_code(1);
    let state = dir.path().join(".agentgigs-conformance/last-run.json");
    let saved = agentgigs_conformance::report::RunState::load(&state).expect("a state file");
    assert_eq!(saved.outcomes.len(), 2, "the state file holds every scenario's outcome");
    assert_eq!(saved.failed().into_iter().collect::<Vec<_>>(), [FAILING]);
    assert!(read(&state).len() < 2_000, "the state file keeps outcomes only");

    let done = cli(
        dir.path(),
        &[
            "run",
            "--scenarios",
            &fixture("failing"),
            "--last-failed",
            "--report",
            "json=lf.json",
        ],
    );
    done.expect_code(1);
    assert_eq!(ids(&report_at(&dir.path().join("lf.json"))), [FAILING]);
    assert!(done.stderr.contains(&format!("FAIL  {FAILING}")), "{}", done.stderr);
    assert!(
        !done.all().contains(PASSING),
        "the passing scenario ran again:\n{}",
        done.all()
    );

    // After a run without failures there is nothing to rerun, and that is not an error.
    let done = cli(
        dir.path(),
        &[
            "run",
            "--scenarios",
            &fixture("failing"),
            "--filter",
            PASSING,
            "--state-file",
            "ok.json",
        ],
    );
    done.expect_code(0);
    let done = cli(
        dir.path(),
        &[
            "run",
            "--scenarios",
            &fixture("failing"),
            "--last-failed",
            "--state-file",
            "ok.json",
        ],
    );
    done.expect_code(0);
    assert!(done.stdout.contains("nothing to rerun"), "{}", done.all());
}

/// The lifecycle and money scenarios (the ones that move the clock by days,
/// and most of the money) with the bundled server's clock years ahead,
/// across a year boundary, through the CLI's `--clock-start` and
/// `--snapshots`: the transcripts equal the checked-in snapshots (no
/// `.snap.new` is written), every report and the state file are written,
/// and the state file drives `--last-failed` as on any other day. (Every
/// scenario's transcript is compared with the clock ahead by the
/// `shifted-clock/` pass of `tests/conformance`, and the whole library runs
/// through the CLI in its `deployment/` trial.)
#[test]
fn a_run_with_the_clock_years_ahead_matches_the_snapshots_and_writes_everything() {
    let dir = tmp();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let snaps = dir.path().join("snaps");
    std::fs::create_dir_all(&snaps).unwrap();
    let mut copied = 0;
    for entry in std::fs::read_dir(root.join("snapshots")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap") {
            std::fs::copy(&path, snaps.join(path.file_name().unwrap())).unwrap();
            copied += 1;
        }
    }
    assert!(copied > 50, "only {copied} snapshots found under snapshots/");
    let spec = root.join("specs/agentgigs.openapi.yaml");
    let scenarios = root.join("scenarios");
    let done = cli(
        dir.path(),
        &[
            "run",
            "--spec",
            &spec.to_string_lossy(),
            "--scenarios",
            &scenarios.to_string_lossy(),
            "--clock-start",
            "2029-12-31T12:00:00Z",
            "--filter",
            "lifecycle.",
            "--filter",
            "money.",
            "--snapshots",
            "snaps",
            "--report",
            "junit=out/junit.xml",
            "--report",
            "json=out/run.json",
            "--report",
            "markdown=out/summary.md",
            "--report",
            "html=out/report.html",
        ],
    );
    done.expect_code(0);
    let pending: Vec<_> = std::fs::read_dir(&snaps)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".snap.new"))
        .collect();
    assert!(
        pending.is_empty(),
        "transcripts differ with the clock ahead: {pending:?}"
    );
    for file in ["junit.xml", "run.json", "summary.md", "report.html"] {
        assert!(!read(&dir.path().join("out").join(file)).is_empty(), "{file} is empty");
    }
    let report = report_at(&dir.path().join("out/run.json"));
    assert!(report.scenarios.len() > 25, "{} scenarios ran", report.scenarios.len());
    let done = cli(
        dir.path(),
        &[
            "run",
            "--spec",
            &spec.to_string_lossy(),
            "--scenarios",
            &scenarios.to_string_lossy(),
            "--clock-start",
            "2029-12-31T12:00:00Z",
            "--last-failed",
        ],
    );
    done.expect_code(0);
    assert!(done.stdout.contains("nothing to rerun"), "{}", done.all());
}

#[test]
fn last_failed_without_a_state_file_is_a_usage_error() {
    let dir = tmp();
    let done = cli(
        dir.path(),
        &["run", "--scenarios", &fixture("failing"), "--last-failed"],
    );
    done.expect_code(2);
    assert!(
        done.stderr
            .contains("`--last-failed`: cannot read `.agentgigs-conformance/last-run.json`"),
        "{}",
        done.stderr
    );
    assert!(done.stderr.contains("run once without it first"), "{}", done.stderr);
}

// ---------------------------------------------------------------- library commands

#[test]
fn run_list_shows_the_plan_and_runs_nothing() {
    let dir = tmp();
    let done = cli(dir.path(), &["run", "--list", "--scenarios", &fixture("failing")]);
    done.expect_code(0);
    assert!(
        done.stdout
            .contains(&format!("{FAILING}  scenarios/probe/wrong-status.yaml")),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains(PASSING));
    assert!(done.stdout.trim_end().ends_with("2 scenarios"), "{}", done.stdout);
    assert!(
        !dir.path().join(".agentgigs-conformance").exists(),
        "`--list` wrote a state file"
    );
}

#[test]
fn list_prints_the_library() {
    let dir = tmp();
    let done = cli(dir.path(), &["list"]);
    done.expect_code(0);
    let line = Regex::new(r"(?m)^meta\.help-and-categories\s+must\s+meta\s+scenarios/meta/").unwrap();
    assert!(line.is_match(&done.stdout), "{}", done.stdout);
    let last = Regex::new(r"(?m)^\d{2,} scenarios$").unwrap();
    assert!(last.is_match(&done.stdout), "{}", done.stdout);

    let done = cli(
        dir.path(),
        &["list", "--scenarios", &fixture("failing"), "--filter", "categories"],
    );
    done.expect_code(0);
    assert!(
        done.stdout.contains(PASSING) && !done.stdout.contains(FAILING),
        "{}",
        done.stdout
    );
    assert!(done.stdout.contains("1 scenarios"), "{}", done.stdout);
}

#[test]
fn lint_passes_a_clean_library_and_names_an_undefined_variable() {
    let dir = tmp();
    let done = cli(dir.path(), &["lint", "--scenarios", &fixture("failing")]);
    done.expect_code(0);
    assert!(
        done.stdout.contains("lint: 2 scenarios, 0 flows: 0 errors, 0 warnings"),
        "{}",
        done.stdout
    );

    let done = cli(dir.path(), &["lint", "--scenarios", &fixture("undefined")]);
    done.expect_code(2);
    let at =
        Regex::new(r"scenarios/probe/undefined-variable\.yaml:\d+:\d+: error: undefined variable `job_idd`").unwrap();
    assert!(at.is_match(&done.stderr), "{}", done.stderr);
    assert!(done.stdout.contains("1 errors"), "{}", done.stdout);
    // `run` refuses the same library before sending anything.
    let done = cli(dir.path(), &["run", "--scenarios", &fixture("undefined")]);
    done.expect_code(2);
    assert!(done.stderr.contains("undefined variable `job_idd`"), "{}", done.stderr);
}

/// The flows `benches/compare.sh` times beside Hurl hold Hurl's own
/// assertions (exact statuses, our error codes), so they are reference-level
/// and run `--strict`: any difference fails, as in Hurl. They must pass
/// against the reference server, or the comparison times a failing run.
#[test]
fn the_benchmark_flows_pass_strictly_against_the_reference_server() {
    let dir = tmp();
    let flows = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/flows");
    let done = cli(dir.path(), &["run", "--strict", "--scenarios", flows.to_str().unwrap()]);
    done.expect_code(0);
    assert!(done.stdout.contains("PASSED: 2 of 2"), "{}", done.stdout);
}

#[test]
fn explain_prints_the_rule_and_the_steps() {
    let dir = tmp();
    let done = cli(dir.path(), &["explain", FAILING, "--scenarios", &fixture("failing")]);
    done.expect_code(0);
    for text in [
        "The help manifest answers a client error (this rule is false on purpose).",
        "Steps",
        "the manifest with a key",
        "as agent: GET /api/help, expect 4xx",
        "scenarios/probe/wrong-status.yaml:11:5",
    ] {
        assert!(done.stdout.contains(text), "no `{text}` in\n{}", done.stdout);
    }
    // A real scenario: its flows expanded in place, each step at its own file.
    let done = cli(dir.path(), &["explain", "lifecycle.no-proof-happy-path"]);
    done.expect_code(0);
    for text in [
        "Rule",
        "include hire-agent",
        "as agent: POST /api/jobs/{{job_id}}/apply",
        "at scenarios/_flows/hire-agent.yaml:",
    ] {
        assert!(done.stdout.contains(text), "no `{text}` in\n{}", done.stdout);
    }

    let done = cli(
        dir.path(),
        &["explain", "probe.help-is-not-foun", "--scenarios", &fixture("failing")],
    );
    done.expect_code(2);
    assert!(
        done.stderr.contains(&format!("did you mean `{FAILING}`?")),
        "{}",
        done.stderr
    );
}

#[test]
fn completions_and_man_page() {
    let dir = tmp();
    let done = cli(dir.path(), &["completions", "bash"]);
    done.expect_code(0);
    assert!(
        done.stdout.contains("agentgigs-conformance") && done.stdout.contains("run"),
        "{}",
        done.stdout
    );
    assert!(
        done.stdout.contains("--last-failed"),
        "the completions miss `run`'s flags"
    );
    cli(dir.path(), &["completions", "tcsh"]).expect_code(2);

    let done = cli(dir.path(), &["man"]);
    done.expect_code(0);
    // clap_mangen opens with two roff conditionals (`.ie`/`.el`) defining a
    // quote string; the first real request is the title.
    let first = done
        .stdout
        .lines()
        .find(|l| !l.starts_with(".ie") && !l.starts_with(".el") && !l.starts_with(".\\\""));
    assert!(
        first.is_some_and(|l| l.starts_with(".TH agentgigs-conformance")),
        "{first:?}"
    );
    assert!(
        done.stdout.contains(".SH NAME") && done.stdout.contains(".SH SUBCOMMANDS"),
        "{}",
        done.stdout
    );
}

// ---------------------------------------------------------------- snapshots

#[test]
fn snapshots_are_written_once_and_differences_become_pending_insta_files() {
    let dir = tmp();
    let args = ["run", "--scenarios", &fixture("failing"), "--snapshots", "snaps"];
    let done = cli(dir.path(), &args);
    done.expect_code(1);
    assert!(done.stdout.contains("wrote 2 transcripts to snaps"), "{}", done.stdout);
    let snaps = dir.path().join("snaps");
    let mut names: Vec<String> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["probe__passes.snap", "probe__wrong-status.snap"]);

    // The same run again: the transcripts are stable, nothing new.
    let done = cli(dir.path(), &args);
    assert!(done.stdout.contains("wrote 0 transcripts"), "{}", done.stdout);
    assert_eq!(std::fs::read_dir(&snaps).unwrap().count(), 2);

    // A changed body: the next run writes `.snap.new` beside it and keeps the `.snap`.
    let snap = snaps.join("probe__passes.snap");
    let original = read(&snap);
    let edited = original.replace("\"Research\"", "\"Astrology\"");
    assert_ne!(edited, original);
    std::fs::write(&snap, &edited).unwrap();
    let done = cli(dir.path(), &args);
    assert!(done.stdout.contains("wrote 1 transcripts"), "{}", done.stdout);
    let pending = snaps.join("probe__passes.snap.new");
    assert!(
        pending.exists(),
        "no `.snap.new`: {:?}",
        std::fs::read_dir(&snaps).unwrap().collect::<Vec<_>>()
    );
    assert_eq!(read(&snap), edited, "the reviewed `.snap` was overwritten");
    assert_eq!(read(&pending), original, "the pending file is not the fresh transcript");

    // insta reads both (what `cargo insta review` does), with its own front matter rules.
    let text = read(&pending);
    let header = Regex::new(r"^---\n(?s:.*?)\n---\n").unwrap();
    let front = header
        .find(&text)
        .expect("a `---` YAML header closed by `---`")
        .as_str();
    assert!(
        front.contains("\nsource: ") && front.contains("\nexpression: "),
        "{front}"
    );
    for path in [&pending, &snap] {
        let s =
            insta::Snapshot::from_file(path).unwrap_or_else(|e| panic!("insta cannot read `{}`: {e}", path.display()));
        assert!(
            s.metadata().source().is_some_and(|x| !x.is_empty()),
            "{:?}",
            s.metadata()
        );
        assert_eq!(s.metadata().expression(), Some("probe__passes"));
        assert_eq!(s.module_name(), "probe");
    }
    assert_eq!(
        insta::Snapshot::from_file(&snap).unwrap().snapshot_name(),
        Some("passes")
    );
    let new = insta::Snapshot::from_file(&pending).unwrap();
    let old = insta::Snapshot::from_file(&snap).unwrap();
    let body = |s: &insta::Snapshot| s.as_text().map(|t| t.to_string()).unwrap_or_default();
    assert!(
        body(&new).starts_with("scenario: probe.categories\noutcome: passed"),
        "{}",
        body(&new)
    );
    assert!(body(&old).contains("Astrology") && !body(&new).contains("Astrology"));

    // Back to the original: the run matches again and the stale pending file goes (as insta does).
    std::fs::write(&snap, &original).unwrap();
    let done = cli(dir.path(), &args);
    assert!(done.stdout.contains("wrote 0 transcripts"), "{}", done.stdout);
    assert!(
        !pending.exists(),
        "a stale `.snap.new` is left for `cargo insta review`"
    );
}

// ---------------------------------------------------------------- output

#[test]
fn a_failure_is_printed_in_full_without_colors() {
    let dir = tmp();
    let done = cli(dir.path(), &["run", "--scenarios", &fixture("failing")]);
    done.expect_code(1);
    assert!(
        !done.all().contains('\u{1b}'),
        "an escape sequence with NO_COLOR=1:\n{:?}",
        done.all()
    );
    let out = &done.stdout;
    for (what, pattern) in [
        ("the scenario", r"FAIL\s+probe\.help-is-not-found\s+\[must\]"),
        (
            "the step's file:line:col",
            r"at\s+scenarios/probe/wrong-status\.yaml:11:5",
        ),
        ("the actor", r"actor\s+agent"),
        ("method and URL", r"GET http://127\.0\.0\.1:\d+/api/help"),
        ("expected", r#"expected\s+"?4xx"#),
        ("actual", r"actual\s+200"),
        (
            "the rule",
            r"rule\s+The help manifest answers a client error \(this rule is false on purpose\)\.",
        ),
    ] {
        assert!(
            Regex::new(pattern).unwrap().is_match(out),
            "{what} (`{pattern}`) missing from\n{out}"
        );
    }

    // Not a terminal and no NO_COLOR: still no colors.
    let mut cmd = command(dir.path(), &["run", "--scenarios", &fixture("failing")]);
    cmd.env_remove("NO_COLOR");
    let done = finish(cmd);
    done.expect_code(1);
    assert!(
        !done.all().contains('\u{1b}'),
        "an escape sequence on a pipe:\n{:?}",
        done.all()
    );
}

#[test]
fn no_secret_reaches_the_output_or_the_reports() {
    let dir = tmp();
    let done = cli(
        dir.path(),
        &[
            "run",
            "--scenarios",
            &fixture("secrets"),
            "--report",
            "json=r.json",
            "--report",
            "html=r.html",
            "--report",
            "junit=r.xml",
            "--report",
            "markdown=r.md",
        ],
    );
    done.expect_code(1);
    // The failures were shown, with their secret-bearing values redacted.
    assert!(done.stdout.contains("3 failed (3 must)"), "{}", done.stdout);
    let placeholder = Regex::new(r"\[(JWT|ACCESSTOKEN)[^\]]*\]").unwrap();
    assert!(
        done.stdout.contains("[API_KEY") && placeholder.is_match(&done.stdout),
        "{}",
        done.stdout
    );
    assert!(!done.stderr.contains("contains a secret"), "{}", done.stderr);

    let secret = Regex::new(r"age_[0-9a-fA-F]{32}|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+").unwrap();
    let mut texts = vec![("stdout+stderr".to_string(), done.all())];
    for f in [
        "r.json",
        "r.html",
        "r.xml",
        "r.md",
        ".agentgigs-conformance/last-run.json",
    ] {
        texts.push((f.to_string(), read(&dir.path().join(f))));
    }
    for (name, text) in texts {
        if let Some(m) = secret.find(&text) {
            panic!("{name} holds a secret: `{}`", m.as_str());
        }
    }
}

// ---------------------------------------------------------------- mock

/// Kills the child when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 request; returns the status and the body.
fn call(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = TcpStream::connect(addr).expect("connect to the mock");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    write!(s, "{head}\r\n{body}").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read the answer");
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn get(base: &str, path: &str) -> (u16, String) {
    call(base, "GET", path, &[], "")
}

/// Starts `mock --port 0` with `extra` arguments; the child, its URL and
/// the lines it printed up to the URL.
fn spawn_mock(dir: &Path, extra: &[&str]) -> (Killed, String, Vec<String>) {
    let mut args = vec!["mock", "--port", "0"];
    args.extend_from_slice(extra);
    let mut cmd = command(dir, &args);
    cmd.stderr(Stdio::null());
    let mut child = Killed(cmd.spawn().expect("the binary starts"));
    let stdout = child.0.stdout.take().expect("stdout");
    let (url, mut lines, rx) = crate::mock_stdout::until_url(stdout);
    // The line after the URL, if it comes at once (the rate-limit note).
    if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
        lines.push(line);
    }
    (child, url, lines)
}

#[test]
fn mock_serves_on_a_free_port_and_prints_its_url() {
    let dir = tmp();
    let (mut child, url, _) = spawn_mock(dir.path(), &[]);
    let (status, body) = get(&url, "/__conformance");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"features\""), "{body}");
    let (status, body) = get(&url, "/api/help");
    assert_eq!(status, 200);
    assert!(body.contains("AgentGigs"), "{body}");
    assert!(child.0.try_wait().unwrap().is_none(), "the mock exited while serving");
}

/// `--workers N` sets the threads that answer; none is a usage error.
#[test]
fn mock_workers_can_be_chosen_and_zero_is_refused() {
    let dir = tmp();
    let (_child, url, _) = spawn_mock(dir.path(), &["--workers", "3"]);
    let (status, body) = get(&url, "/__conformance");
    assert_eq!(status, 200, "{body}");
    let done = cli(dir.path(), &["mock", "--workers", "0"]);
    done.expect_code(2);
    assert!(done.stderr.contains("--workers"), "{}", done.stderr);
}

/// The actor's API key, then `n` authenticated GETs: how many were 429.
fn throttled_of(url: &str, n: usize) -> usize {
    let (status, body) = call(url, "POST", "/__conformance/actors", &[], r#"{"role":"agent"}"#);
    assert_eq!(status, 201, "{body}");
    let actor: serde_json::Value = serde_json::from_str(&body).expect("JSON actor");
    let key = actor["api_key"].as_str().expect("an api_key").to_string();
    (0..n)
        .filter(|_| call(url, "GET", "/api/wallet", &[("X-API-Key", &key)], "").0 == 429)
        .count()
}

#[test]
fn mock_no_rate_limits_never_answers_429_and_says_so() {
    let dir = tmp();
    let (_child, url, lines) = spawn_mock(dir.path(), &["--no-rate-limits"]);
    assert!(lines.iter().any(|l| l.contains("Rate limits are lifted")), "{lines:#?}");
    assert_eq!(throttled_of(&url, 40), 0);
    // The same load on a default server meets the documented per-minute limit.
    let (_child, url, lines) = spawn_mock(dir.path(), &[]);
    assert!(
        !lines.iter().any(|l| l.contains("Rate limits are lifted")),
        "{lines:#?}"
    );
    assert!(throttled_of(&url, 40) > 0);
}

#[test]
fn mock_clock_start_sets_the_server_clock_and_says_so() {
    let dir = tmp();
    let (_child, url, lines) = spawn_mock(dir.path(), &["--clock-start", "2031-12-31T12:00:00Z"]);
    assert!(
        lines.iter().any(|l| l.contains("clock started at 2031-12-31T12:00:00")),
        "{lines:#?}"
    );
    let (status, body) = call(
        &url,
        "POST",
        "/__conformance/clock",
        &[],
        r#"{"advance_seconds":86400}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"now\":\"2032-01-01T12:0"),
        "a day after the start: {body}"
    );
    let done = cli(dir.path(), &["mock", "--clock-start", "next tuesday"]);
    done.expect_code(2);
    assert!(done.stderr.contains("RFC 3339"), "{}", done.stderr);
}

#[test]
fn mock_off_loopback_without_a_control_token_refuses_to_start() {
    let dir = tmp();
    let done = cli(dir.path(), &["mock", "--host", "0.0.0.0", "--port", "0"]);
    done.expect_code(2);
    assert!(done.stderr.contains("without a control token"), "{}", done.stderr);
    assert!(done.stderr.contains("--control-token"), "{}", done.stderr);
    assert!(!done.stdout.contains("listening"), "{}", done.stdout);
}

/// With every choice switch flipped, the bundled server still keeps every
/// documented rule: the run passes (exit 0), and every report shows where
/// it departs from the reference server; with `--strict` the departures
/// are failures (exit 1).
#[test]
fn departures_from_the_reference_are_reported_in_every_format_and_fail_only_when_strict() {
    let dir = tmp();
    // Two areas that depart under every choice and take about a second each
    // (what is checked is the reports, which hold scenario by scenario; the
    // whole library with every choice flipped is `tests/conformance.rs`'s).
    let areas = ["--filter", "nda.", "--filter", "auth."];
    let mut args = vec!["run", "--all-choices"];
    args.extend(areas);
    args.extend([
        "--report",
        "junit=out/junit.xml",
        "--report",
        "json=out/report.json",
        "--report",
        "markdown=out/report.md",
        "--report",
        "html=out/report.html",
    ]);
    let done = cli(dir.path(), &args);
    done.expect_code(0);
    let out = dir.path().join("out");
    let report = report_at(&out.join("report.json"));
    let t = &report.totals;
    assert!(t.total > 0 && t.failed == 0, "{}", done.stdout);
    assert!(
        t.departures > 0 && t.departing > 0,
        "every choice flipped, yet no departure was reported:\n{}",
        done.stdout
    );
    let phrase = if t.departing == 1 {
        "1 scenario departs".to_string()
    } else {
        format!("{} scenarios depart", t.departing)
    };
    assert!(
        done.stdout.contains(&phrase),
        "terminal: no `{phrase}` in\n{}",
        done.stdout
    );
    let md = read(&out.join("report.md"));
    assert!(md.contains(&phrase), "markdown: no `{phrase}`");
    let junit = read(&out.join("junit.xml"));
    assert!(
        junit.contains(&format!("name=\"run_departures\" value=\"{}\"", t.departures)),
        "junit: no run_departures property"
    );
    assert!(!junit.contains("<failure"), "junit: a departure became a failure");
    let html = read(&out.join("report.html"));
    assert!(
        html.contains("Departs from the reference server"),
        "html: no departures block"
    );

    // Strict: the same departures fail the run.
    let mut strict = vec!["run", "--all-choices", "--strict"];
    strict.extend(areas);
    let done = cli(dir.path(), &strict);
    done.expect_code(1);
}
