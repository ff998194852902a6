//! Against a deployment without the control API: the bundled server runs as
//! a separate process with a control token the harness is NOT given. Through
//! that token the test creates real accounts (2 funded posters, 3 agents in
//! Research, 3 proofers eligible and registered for Research, 1 unverified
//! agent and 1 unverified funded poster) and writes a profile that names
//! their keys by environment
//! variable. The harness then runs the whole library through that profile:
//! it can only use the pool, never create anything.
//!
//! Expected: at least 70% of the must-level library runs, with no failure;
//! every skip names its missing need; with an empty profile, too little
//! runs and the exit code is 4.
//!
//! It is one trial of the `conformance` binary (`deployment/…`), started
//! first: it waits on the server far more than it computes, so the
//! scenario trials run beside it.

#![allow(clippy::print_stderr)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentgigs_conformance::report::json;
use agentgigs_conformance::report::model::{Outcome, RunReport};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_agentgigs-conformance");
const TOKEN: &str = "deployment-test-control-token";
/// The longest the whole run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);
/// Seconds on the server's clock per real second: a minute passes in 2 s,
/// long enough for the largest burst of the library (301 requests) to fit
/// in one window on a loaded machine.
const CLOCK_RATE: u32 = 60;

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `agentgigs-conformance mock` on a free port with the control token;
/// answers its URL.
fn start_server(dir: &Path) -> (Killed, String) {
    let mut child = Killed(
        Command::new(BIN)
            // The server's clock runs CLOCK_RATE times as fast as real
            // time, so the documented windows of its rate limits (a minute,
            // an hour) pass in seconds and the run does not spend ten
            // minutes waiting out `Retry-After` (which the server gives in
            // real seconds). The profile says so (`clock_rate`), as it would
            // for any test deployment whose clock runs fast.
            .args(["mock", "--port", "0", "--keepalive-secs", "1", "--clock-rate"])
            .arg(CLOCK_RATE.to_string())
            .env("AGENTGIGS_CONTROL_TOKEN", TOKEN)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the mock starts"),
    );
    let stdout = child.0.stdout.take().expect("stdout");
    let (url, _, _) = crate::mock_stdout::until_url(stdout);
    (child, url)
}

/// A POST with the control token; the JSON answer.
fn control(base: &str, path: &str, body: &Value) -> Value {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let text = body.to_string();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-Conformance-Token: {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 201"), "{path}: {head}\n{body}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// One account: its role in the profile, what the profile declares, and
/// the control API's spec for it.
struct Made {
    role: &'static str,
    declared: &'static str,
    key: String,
    jwt: String,
    user_id: String,
    email: String,
    password: String,
}

fn make_accounts(base: &str) -> Vec<Made> {
    let mut made = Vec::new();
    let mut add = |role: &'static str, spec: Value, declared: &'static str| {
        let a = control(base, "/__conformance/actors", &spec);
        made.push(Made {
            role,
            declared,
            key: a["api_key"].as_str().expect("api_key").to_string(),
            jwt: a["access_token"].as_str().expect("access_token").to_string(),
            user_id: a["user_id"].as_str().expect("user_id").to_string(),
            email: a["email"].as_str().expect("email").to_string(),
            password: a["password"].as_str().expect("password").to_string(),
        });
    };
    for _ in 0..2 {
        add(
            "poster",
            json!({"role": "poster", "wallet_cents": 50_000_000, "tier": "enterprise"}),
            "tier: enterprise",
        );
    }
    // One agent per tier, so tier-bound rules (file limits, revisions,
    // per-minute limits) have an account.
    add(
        "agent",
        json!({"role": "agent", "specializations": ["Research"], "tier": "free"}),
        "tier: free, specializations: [Research]",
    );
    add(
        "agent",
        json!({"role": "agent", "specializations": ["Research"], "tier": "pro"}),
        "tier: pro, specializations: [Research]",
    );
    add(
        "agent",
        json!({"role": "agent", "specializations": ["Research"], "tier": "enterprise"}),
        "tier: enterprise, specializations: [Research]",
    );
    for _ in 0..3 {
        add(
            "proofer",
            json!({"role": "proofer", "specializations": ["Research"], "tier": "enterprise"}),
            "tier: enterprise, specializations: [Research]",
        );
    }
    add(
        "agent",
        json!({"role": "agent", "specializations": ["Research"], "tier": "enterprise", "email_verified": false}),
        "tier: enterprise, specializations: [Research], email_verified: false",
    );
    // Beyond the list: an unverified poster with money, for the
    // rule that an unverified email may not move money (the library grew
    // by must-level rules only a control API can run, such as the hourly
    // limits, and the 70% needs one more).
    add(
        "poster",
        json!({"role": "poster", "wallet_cents": 1_000_000, "tier": "enterprise", "email_verified": false}),
        "tier: enterprise, email_verified: false",
    );
    made
}

/// The profile text (no secret in it) and the environment it needs.
fn profile(base: &str, made: &[Made]) -> (String, Vec<(String, String)>) {
    // The harness paces as against any deployment, on the server's clock.
    let mut text = format!("base_url: {base}\nsandbox: true\ntier: enterprise\nclock_rate: {CLOCK_RATE}\naccounts:\n");
    let mut env = Vec::new();
    for (i, m) in made.iter().enumerate() {
        let vars = ["KEY", "JWT", "ID", "EMAIL", "PASSWORD"].map(|v| format!("DEPLOY_{v}_{i}"));
        text.push_str(&format!(
            "  - {{role: {}, api_key_env: {}, jwt_env: {}, user_id_env: {}, email_env: {}, password_env: {}, {}}}\n",
            m.role, vars[0], vars[1], vars[2], vars[3], vars[4], m.declared
        ));
        for (var, value) in vars
            .into_iter()
            .zip([&m.key, &m.jwt, &m.user_id, &m.email, &m.password])
        {
            env.push((var, value.clone()));
        }
    }
    (text, env)
}

/// Runs `run --profile` with `env`; answers the exit code, the report and the output.
fn run(dir: &Path, profile: &str, env: &[(String, String)], extra: &[&str]) -> (Option<i32>, RunReport, String) {
    let path = dir.join(format!("profile-{}.yaml", env.len()));
    std::fs::write(&path, profile).unwrap();
    let report = dir.join(format!("report-{}.json", env.len()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--profile"])
        .arg(&path)
        .arg("--spec")
        .arg(root.join("specs/agentgigs.openapi.yaml"))
        .arg("--reference")
        .arg(root.join("specs/reference.overlay.yaml"))
        .arg("--scenarios")
        .arg(root.join("scenarios"))
        .arg("--report")
        .arg(format!("json={}", report.display()))
        .arg("--state-file")
        .arg(dir.join(format!("state-{}.json", env.len())))
        .args(extra)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AGENTGIGS_TARGET")
        .env_remove("AGENTGIGS_PROFILE")
        .env_remove("AGENTGIGS_CONTROL_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = Killed(cmd.spawn().expect("the run starts"));
    let mut out = String::new();
    let mut err = String::new();
    let (mut so, mut se) = (child.0.stdout.take().unwrap(), child.0.stderr.take().unwrap());
    let t1 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let t2 = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "the run took longer than {RUN_TIMEOUT:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    out.push_str(&t1.join().unwrap_or_default());
    err.push_str(&t2.join().unwrap_or_default());
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("no report ({e}):\n{out}\n{err}"));
    let report = json::from_json(&text).expect("a run report");
    (status.code(), report, format!("{out}\n{err}"))
}

/// The trial (its assertions panic; libtest-mimic reports a panic as a failure).
pub fn a_deployment_without_the_control_api_runs_most_of_the_library_from_a_pool() -> Result<(), libtest_mimic::Failed>
{
    let dir = tempfile::tempdir().unwrap();
    let (_server, base) = start_server(dir.path());
    let made = make_accounts(&base);
    let (text, env) = profile(&base, &made);
    assert!(
        !text.contains("age_") && !text.contains("eyJ"),
        "the profile holds no secret"
    );

    let started = Instant::now();
    let (code, report, output) = run(dir.path(), &text, &env, &["--jobs", "6"]);
    // The slowest scenarios, for whoever wonders where the time went.
    let mut slowest: Vec<_> = report
        .scenarios
        .iter()
        .map(|s| {
            // Its slowest step too: a long wait (a `Retry-After`) shows where.
            let step = s
                .steps
                .iter()
                .max_by_key(|st| st.duration_ms)
                .map(|st| format!("{} ms in step {} `{}`", st.duration_ms, st.index + 1, st.name))
                .unwrap_or_default();
            (s.duration_ms, s.id.as_str(), step)
        })
        .collect();
    slowest.sort_unstable_by(|a, b| b.cmp(a));
    eprintln!(
        "deployment run: {:.1} s, {} scenarios ({} of {} must-level ran), {:.1} s summed; the slowest:",
        started.elapsed().as_secs_f64(),
        slowest.len(),
        report.totals.must_executed,
        report.totals.must_total,
        slowest.iter().map(|s| s.0).sum::<u64>() as f64 / 1000.0
    );
    for (ms, id, step) in slowest.iter().take(10) {
        eprintln!("{:>8} ms  {id}  ({step})", ms);
    }
    let t = &report.totals;
    let failures: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Failed | Outcome::Errored { .. }))
        .map(|s| format!("{}: {:?}", s.id, s.outcome))
        .collect();
    assert!(
        failures.is_empty(),
        "failures against the pool:\n{}\n{output}",
        failures.join("\n")
    );
    assert_eq!(code, Some(0), "{output}");
    assert!(
        t.must_executed * 100 >= t.must_total * 70,
        "only {} of {} must-level scenarios ran:\n{output}",
        t.must_executed,
        t.must_total
    );
    assert!(output.contains(&format!(
        "ran {} of {} must-level scenarios",
        t.must_executed, t.must_total
    )));
    // Every skip names what it needs (an account, a control feature, a guard).
    for s in &report.scenarios {
        if let Outcome::Skipped { reason } = &s.outcome {
            assert!(
                reason.starts_with("needs ") || reason.contains("target offers no `") || reason.contains("not run"),
                "{}: the skip does not name its need: {reason}",
                s.id
            );
        }
    }
    // No secret of the pool reached the output or the written report.
    let written = std::fs::read_to_string(dir.path().join(format!("report-{}.json", env.len()))).unwrap();
    for m in &made {
        assert!(
            !written.contains(&m.key) && !written.contains(&m.jwt) && !written.contains(&m.password),
            "a pool secret reached the JSON report"
        );
    }
    for m in &made {
        assert!(
            !output.contains(&m.key) && !output.contains(&m.jwt) && !output.contains(&m.password),
            "a pool secret leaked"
        );
    }

    // An empty profile: nothing can run, and that is not green.
    let empty = format!("base_url: {base}\nsandbox: true\nclock_rate: {CLOCK_RATE}\n");
    // The lifecycle scenarios only: every one needs accounts. (The whole
    // library would also run the few that need none, among them two that
    // register users and wait out the registration limit per IP the run
    // above spent.)
    let (code, report, output) = run(dir.path(), &empty, &[], &["--filter", "lifecycle."]);
    assert_eq!(code, Some(4), "{output}");
    assert_eq!(report.totals.failed, 0);
    assert!(output.contains("TOO LITTLE RAN"), "{output}");
    let needs = report
        .scenarios
        .iter()
        .filter_map(|s| match &s.outcome {
            Outcome::Skipped { reason } => Some(reason.as_str()),
            _ => None,
        })
        .find(|r| r.contains("the profile has no accounts"));
    assert!(needs.is_some(), "no skip names the empty pool:\n{output}");
    Ok(())
}
