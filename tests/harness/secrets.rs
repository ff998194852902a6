//! Secrets never leave the run: API keys, JWTs, passwords and the control
//! token (including values learnt at run time, and secrets inside URLs,
//! headers, bodies and error messages) appear in no report format, no
//! transcript, no snapshot file and no progress event: only named
//! placeholders such as `[API_KEY:poster]` do.
//!
//! The secrets checked are known independently of the harness: a hostile
//! echo server and a recording proxy in front of the reference server
//! remember every secret they handed out, and the tests choose the control
//! token and passwords themselves.

use crate::common;
use crate::raw;

use std::sync::Arc;
use std::time::Duration;

use agentgigs_conformance::mock::{MockConfig, MockServer};
use agentgigs_conformance::redact::Secrets;
use agentgigs_conformance::report::model::{Outcome, RunReport};
use agentgigs_conformance::report::{Format, render};
use agentgigs_conformance::runner::{ProgressEvent, RunOptions};
use agentgigs_conformance::target::{ControlConfig, Profile, Secret, TargetSpec};
use agentgigs_conformance::transcript;
use common::*;
use parking_lot::Mutex;
use raw::{Request, respond};
use serde_json::{Value, json};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(30);
const CONTROL_TOKEN: &str = "ctl-token-7f3a9c2e5b1d4f60";
/// A password full of characters that URLs and JSON encode.
const ODD_PASSWORD: &str = "s3cret pass/word?&#+\"é";

/// Every text a run produces: each report format, each transcript, the
/// snapshot files, and the progress events (what a terminal or log shows).
fn outputs(report: &RunReport, progress: &[String], dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in Format::ALL {
        out.push((
            format!("report {}", f.name()),
            render(f, report, None).expect("renders"),
        ));
    }
    out.push(("report Debug".into(), format!("{report:?}")));
    for s in &report.scenarios {
        out.push((format!("transcript {}", s.id), transcript::transcript(s)));
    }
    let files = transcript::write_snapshots(report, dir).expect("snapshots are written");
    for f in files {
        out.push((
            format!("snapshot {}", f.display()),
            std::fs::read_to_string(&f).expect("readable"),
        ));
    }
    for (i, p) in progress.iter().enumerate() {
        out.push((format!("progress event {i}"), p.clone()));
    }
    out
}

/// Asserts that no known secret (nor its URL-encoded form) is in any output.
fn assert_no_leak(outputs: &[(String, String)], known: &[String], registry: &Secrets) {
    assert!(!known.is_empty(), "the test knows the secrets it checks");
    for (name, text) in outputs {
        for secret in known {
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            assert!(
                !text.contains(secret.as_str()),
                "{name} leaks a secret ({} chars)",
                secret.len()
            );
            if let Some(i) = text.find(&encoded) {
                let lo = i.saturating_sub(200);
                panic!(
                    "{name} leaks a URL-encoded secret: …{}…",
                    &text[lo..(i + encoded.len() + 50).min(text.len())]
                );
            }
        }
        assert!(
            !registry.contains_secret(text),
            "{name} holds a secret the run registered"
        );
    }
}

/// Options that collect every progress event, rendered with `Debug`.
fn recording(options: RunOptions) -> (RunOptions, Arc<Mutex<Vec<String>>>) {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    let options = RunOptions {
        progress: Some(Arc::new(move |ev: ProgressEvent| l.lock().push(format!("{ev:?}")))),
        ..options
    };
    (options, log)
}

/// A profile for `url` whose control API carries our token.
fn with_token(url: &str) -> TargetSpec {
    let mut p = Profile::from_url(url).unwrap();
    p.pace = false;
    p.control = Some(ControlConfig {
        url: p.base_url.clone(),
        token_env: None,
        token: Some(Secret(CONTROL_TOKEN.into())),
    });
    TargetSpec::Remote(p)
}

const EVERYWHERE: &str = r#"
id: secrets.everywhere
title: secrets in every place a run records
actors:
  poster: {role: poster}
  agent: {role: agent}
vars:
  odd: "ODD"
steps:
  - set: {email: "{{random_email}}"}
  - name: register with an odd password
    auth: none
    request: {method: POST, path: /api/auth/register, json: {email: "{{email}}", password: "{{odd}}"}}
    expect: {status: 201}
    capture: {fresh_jwt: /accessToken}
  - name: log in as the actor with its password
    auth: none
    request: {method: POST, path: /api/auth/login, json: {email: "{{agent.email}}", password: "{{agent.password}}"}}
    expect: {status: 200}
    capture: {jwt: /accessToken}
  - name: a new API key, learnt at run time
    as: agent
    auth: jwt
    request: {method: POST, path: /api/agent/api-key}
    expect: {status: 200}
    capture: {new_key: /api_key}
  - name: secrets in the path, the query and a header
    as: agent
    request:
      method: GET
      path: "/api/jobs/{{agent.api_key}}/proof-settings"
      query: {key: "{{new_key}}", pw: "{{agent.password}}", jwt: "{{jwt}}", odd: "{{odd}}", poster: "{{poster.password}}"}
      headers: {X-Echo: "{{poster.api_key}} {{fresh_jwt}} {{odd}}"}
    expect: {status: [400, 404]}
  - name: a failing expectation quotes the secret it saw
    as: agent
    auth: jwt
    request: {method: POST, path: /api/agent/api-key}
    expect:
      body:
        - {path: /api_key, equals: "nope"}
        - {path: /api_key, regex: "^zzz"}
"#;

const TIMES_OUT: &str = r#"
id: secrets.timeout
title: an error message with secrets in its URL
actors: {agent: {role: agent}}
steps:
  - as: agent
    timeout_ms: 1
    request: {method: GET, path: "/api/jobs/{{agent.api_key}}/proof-settings", query: {pw: "{{agent.password}}"}}
"#;

fn everywhere() -> String {
    let odd = serde_json::to_string(ODD_PASSWORD).unwrap();
    EVERYWHERE.replace("\"ODD\"", &odd)
}

#[tokio::test]
async fn no_secret_of_a_reference_server_run_reaches_any_output() {
    let server = MockServer::start(MockConfig {
        control_token: Some(CONTROL_TOKEN.into()),
        ..MockConfig::default()
    })
    .await
    .expect("the reference server starts");
    let proxy = raw::start_proxy(server.url()).await;
    let (options, log) = recording(RunOptions {
        jobs: 2,
        ..RunOptions::default()
    });
    let yaml = everywhere();
    let (report, _, registry) =
        run_bounded_with_secrets(with_token(&proxy.url), &[&yaml, TIMES_OUT], options, LIMIT).await;
    server.shutdown().await;

    let s = scenario(&report, "secrets.everywhere");
    assert_eq!(
        s.outcome,
        Outcome::Failed,
        "only the last step fails: {:?}",
        findings(s)
    );
    assert_eq!(
        s.steps.iter().filter(|st| st.outcome.is_passed()).count(),
        s.steps.len() - 1
    );
    assert!(errored(&scenario(&report, "secrets.timeout").outcome).contains("timed out"));

    let mut known = proxy.seen.lock().issued.clone();
    assert!(
        known.len() >= 8,
        "actors' keys, JWTs, passwords, and the keys and tokens learnt later: {}",
        known.len()
    );
    known.extend([CONTROL_TOKEN.to_string(), ODD_PASSWORD.to_string()]);
    // The control token really was sent on every control call.
    assert!(
        proxy
            .seen
            .lock()
            .requests
            .iter()
            .filter(|r| r.path.starts_with("/__conformance"))
            .all(|r| r.header("x-conformance-token") == Some(CONTROL_TOKEN))
    );

    let dir = tempfile::tempdir().unwrap();
    let out = outputs(&report, &log.lock(), dir.path());
    assert_no_leak(&out, &known, &registry);
    // Placeholders name what was hidden.
    let json = render(Format::Json, &report, None).unwrap();
    for label in [
        "[API_KEY:agent]",
        "[PASSWORD:agent]",
        "[JWT:agent]",
        "[API_KEY:poster]",
        "[PASSWORD:poster]",
    ] {
        assert!(json.contains(label), "the report shows `{label}`");
    }
    // The findings of the failing step quote a placeholder, not the key.
    let last = s.steps.last().unwrap();
    assert!(
        last.findings
            .iter()
            .all(|f| f.actual.as_ref().is_none_or(|a| a.to_string().contains('['))),
        "{:?}",
        last.findings
    );
}

#[tokio::test]
async fn a_bundled_run_with_a_control_token_leaks_nothing() {
    let config = MockConfig {
        control_token: Some(CONTROL_TOKEN.into()),
        ..MockConfig::default()
    };
    let (options, log) = recording(RunOptions::default());
    let yaml = everywhere();
    let (report, _, registry) =
        run_bounded_with_secrets(TargetSpec::BundledWith(config), &[&yaml], options, LIMIT).await;
    assert_eq!(
        report.scenarios[0].outcome,
        Outcome::Failed,
        "{:?}",
        report.scenarios[0].outcome
    );
    assert!(
        registry.len() >= 8,
        "the run registered its secrets: {}",
        registry.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let out = outputs(&report, &log.lock(), dir.path());
    assert_no_leak(
        &out,
        &[
            CONTROL_TOKEN.to_string(),
            ODD_PASSWORD.to_string(),
            "s3cret pass".to_string(),
        ],
        &registry,
    );
}

/// Echoes every request header and the body back: in the JSON body, in a
/// response header, in an error message, and in redirect `Location`s (one
/// to another origin, whose server must never see a credential).
async fn echo(req: Request, mut stream: TcpStream, elsewhere: String) {
    let all_headers: Vec<String> = req.headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let joined = all_headers.join("; ");
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let key = req.header("x-api-key").unwrap_or_default().to_string();
    let echo_header = joined.replace(['\r', '\n'], " ");
    let location_elsewhere = format!(
        "{elsewhere}/steal?k={key}&all={}",
        url::form_urlencoded::byte_serialize(joined.as_bytes()).collect::<String>()
    );
    let payload = json!({"headers": req.headers, "body": body, "target": req.target});
    match req.param("mode").unwrap_or_default() {
        "error" => {
            let msg =
                json!({"error": format!("invalid credentials {joined} for body {body}"), "code": "UNAUTHENTICATED"});
            respond(
                &mut stream,
                401,
                &[("content-type", "application/json"), ("x-echo", &echo_header)],
                msg.to_string().as_bytes(),
            )
            .await;
        }
        "away" => {
            respond(
                &mut stream,
                302,
                &[("location", &location_elsewhere), ("x-echo", &echo_header)],
                b"",
            )
            .await
        }
        "loop" => {
            let here = format!("/api/categories?mode=loop&k={key}");
            respond(&mut stream, 302, &[("location", &here)], b"").await;
        }
        "text" => {
            let text = format!("plain text echo {joined} {body} {}", "x".repeat(20_000));
            respond(
                &mut stream,
                200,
                &[("content-type", "text/plain"), ("x-echo", &echo_header)],
                text.as_bytes(),
            )
            .await;
        }
        _ => {
            respond(
                &mut stream,
                200,
                &[("content-type", "application/json"), ("x-echo", &echo_header)],
                payload.to_string().as_bytes(),
            )
            .await
        }
    }
}

#[tokio::test]
async fn an_echoing_hostile_target_learns_nothing_from_the_report() {
    let elsewhere = raw::start(|_req, mut stream| async move { respond(&mut stream, 200, &[], b"{}").await }).await;
    let away = elsewhere.url.clone();
    let server = raw::start(move |req, stream| echo(req, stream, away.clone())).await;
    let step = |mode: &str, auth: &str| {
        format!(
            "  - as: poster\n    auth: {auth}\n    request:\n      method: POST\n      path: /api/categories\n      query: {{mode: {mode}, k: \"{{{{poster.api_key}}}}\", pw: \"{{{{poster.password}}}}\"}}\n      headers: {{X-Extra: \"{{{{poster.access_token}}}} {{{{odd}}}}\"}}\n      json: {{password: \"{{{{odd}}}}\", poster_pw: \"{{{{poster.password}}}}\", note: \"key {{{{poster.api_key}}}} jwt {{{{poster.access_token}}}} odd {{{{odd}}}}\"}}\n    skip_checks: [{{check: operation, reason: echo}}]\n    expect: {{status: [200, 302, 401]}}\n"
        )
    };
    let odd = serde_json::to_string(ODD_PASSWORD).unwrap();
    let mut yaml =
        format!("id: secrets.echo\ntitle: echo\nactors: {{poster: {{role: poster}}}}\nvars: {{odd: {odd}}}\nsteps:\n");
    for (mode, auth) in [
        ("json", "api_key"),
        ("error", "jwt"),
        ("away", "both"),
        ("text", "api_key_as_bearer"),
    ] {
        yaml.push_str(&step(mode, auth));
    }
    // A same-origin redirect loop ends in an error message quoting the URL.
    yaml.push_str(&step("loop", "api_key"));
    let (options, log) = recording(tight());
    let (report, _, registry) = run_bounded_with_secrets(with_token(&server.url), &[&yaml], options, LIMIT).await;
    let s = &report.scenarios[0];
    for st in &s.steps[..4] {
        assert_eq!(
            st.outcome,
            Outcome::Passed,
            "{}: {:?} {:?}",
            st.name,
            st.outcome,
            st.findings
        );
    }
    assert!(errored(&s.steps[4].outcome).contains("too many redirects"));
    // A redirect to another origin is not followed: the credentials stay home.
    assert_eq!(s.steps[2].response.as_ref().map(|r| r.status), Some(302));
    assert!(
        elsewhere.seen.lock().requests.is_empty(),
        "another origin received a request"
    );

    let mut known = server.seen.lock().issued.clone();
    known.extend([CONTROL_TOKEN.to_string(), ODD_PASSWORD.to_string()]);
    let dir = tempfile::tempdir().unwrap();
    let out = outputs(&report, &log.lock(), dir.path());
    assert_no_leak(&out, &known, &registry);
    let json = render(Format::Json, &report, None).unwrap();
    assert!(json.contains("[API_KEY:poster]") && json.contains("[JWT:poster]") && json.contains("[PASSWORD:poster]"));
}

#[tokio::test]
async fn a_control_api_that_quotes_the_token_in_its_error_is_redacted() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let token = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .starts_with("x-conformance-token:")
                            .then(|| l[20..].trim().to_string())
                    })
                    .unwrap_or_default();
                // A long message: the token straddles the harness's 300-character cut
                // (`{"error":"` + 266 + `wrong token ` puts it at 288).
                let msg = format!("{}wrong token {token} (expected something else)", "x".repeat(266));
                let body = json!({"error": msg, "code": "FORBIDDEN"}).to_string();
                respond(
                    &mut stream,
                    403,
                    &[("content-type", "application/json")],
                    body.as_bytes(),
                )
                .await;
            });
        }
    });
    let one = categories_scenario("one", "");
    let (options, log) = recording(tight());
    let (report, _, registry) = run_bounded_with_secrets(with_token(&url), &[&one], options, LIMIT).await;
    let m = errored(&report.scenarios[0].outcome);
    assert!(m.contains("403"), "{m}");
    let dir = tempfile::tempdir().unwrap();
    let out = outputs(&report, &log.lock(), dir.path());
    assert!(m.contains("[CONTROL_TOKEN]…"), "the cut token is named: {m}");
    assert_no_leak(
        &out,
        &[CONTROL_TOKEN.to_string(), CONTROL_TOKEN[..12].to_string()],
        &registry,
    );
}

#[tokio::test]
async fn a_password_in_the_target_url_is_a_secret() {
    let server = raw::start(|_req, mut stream| async move {
        respond(
            &mut stream,
            200,
            &[("content-type", "application/json")],
            raw::categories().to_string().as_bytes(),
        )
        .await
    })
    .await;
    let with_userinfo = server.url.replace("http://", "http://alice:url-pass-9d8c7b6a@");
    let mut p = Profile::from_url(&with_userinfo).unwrap();
    p.control = None;
    p.pace = false;
    let one = categories_scenario("one", "");
    let slow = "id: hostile.slow\ntitle: x\nsteps:\n  - auth: none\n    timeout_ms: 1\n    request: {method: GET, path: /api/categories}\n";
    let (report, _, registry) = run_bounded_with_secrets(TargetSpec::Remote(p), &[&one, slow], tight(), LIMIT).await;
    let dir = tempfile::tempdir().unwrap();
    let out = outputs(&report, &[], dir.path());
    assert_no_leak(
        &out,
        &[
            "url-pass-9d8c7b6a".into(),
            "alice:url-pass".into(),
            "url-pass-9d8c".into(),
        ],
        &registry,
    );
}

#[test]
fn scan_files_names_the_file_holding_a_planted_secret() {
    let secrets = Secrets::new();
    secrets.add("API_KEY:poster", "age_0123456789abcdef0123456789abcdef");
    secrets.add("PASSWORD:poster", ODD_PASSWORD);
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("report.json");
    std::fs::write(&clean, r#"{"key": "[API_KEY:poster]"}"#).unwrap();
    let nested = dir.path().join("snapshots").join("deep");
    std::fs::create_dir_all(&nested).unwrap();
    let planted = nested.join("leak.snap");
    std::fs::write(&planted, "oops age_0123456789abcdef0123456789abcdef").unwrap();
    let encoded = dir.path().join("encoded.txt");
    let form: String = url::form_urlencoded::byte_serialize(ODD_PASSWORD.as_bytes()).collect();
    std::fs::write(&encoded, format!("GET /x?pw={form}")).unwrap();
    let mut found = secrets.scan_files(&[dir.path()]).unwrap();
    found.sort();
    let mut want = vec![planted.clone(), encoded];
    want.sort();
    assert_eq!(found, want);
    // A single file given directly works too, and a clean one is not named.
    assert_eq!(secrets.scan_files(&[&planted]).unwrap(), vec![planted]);
    assert!(secrets.scan_files(&[&clean]).unwrap().is_empty());
    // An unreadable path is an error, never a silent pass.
    assert!(secrets.scan_files(&[dir.path().join("missing")]).is_err());
}

#[test]
fn the_registry_never_shows_its_values() {
    let s = Secrets::new();
    s.add("CONTROL_TOKEN", CONTROL_TOKEN);
    assert!(!format!("{s:?}").contains(CONTROL_TOKEN));
    let secret = Secret(CONTROL_TOKEN.into());
    assert!(!format!("{secret:?}").contains(CONTROL_TOKEN));
    let v: Value = s.redact_json(&json!({"nested": {"token": CONTROL_TOKEN, "text": format!("x {CONTROL_TOKEN} y")}}));
    assert!(!v.to_string().contains(CONTROL_TOKEN));
}
