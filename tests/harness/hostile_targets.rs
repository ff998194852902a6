//! Hostile or broken targets: whatever a server does (refuse, not resolve,
//! fail TLS, never answer, trickle, stream forever, answer gigantic or
//! garbage bodies, reset, loop redirects, fail with 5xx, rate-limit with
//! absurd `Retry-After`s), a run ends in bounded time, the affected steps
//! are reported as *could not run* (`Errored`, with a message saying what
//! happened) or as findings when the answer itself is wrong, and the rest
//! of the run is unaffected. Every run sits under a tokio timeout.

use crate::common;
use crate::raw;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentgigs_conformance::finding::FindingKind;
use agentgigs_conformance::report::model::Outcome;
use agentgigs_conformance::runner::RunOptions;
use agentgigs_conformance::target::{Profile, TargetSpec};
use common::*;
use raw::{Request, respond, respond_json};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_secs(20);

/// What the streaming behaviours offer: far more than any sane answer.
const HUGE: usize = 200 * 1024 * 1024;

/// Writes `total` bytes of zeros in 64 KiB pieces until the peer goes away.
async fn stream_zeros(stream: &mut TcpStream, total: usize, chunked: bool, counter: &AtomicUsize) {
    let piece = vec![b'0'; 64 * 1024];
    let mut sent = 0;
    while sent < total {
        let ok = if chunked {
            let mut frame = format!("{:x}\r\n", piece.len()).into_bytes();
            frame.extend_from_slice(&piece);
            frame.extend_from_slice(b"\r\n");
            stream.write_all(&frame).await.is_ok()
        } else {
            stream.write_all(&piece).await.is_ok()
        };
        if !ok {
            return;
        }
        sent += piece.len();
        counter.fetch_add(piece.len(), Ordering::Relaxed);
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n").await;
    }
}

/// The hostile behaviours, chosen by `?mode=`; no mode is a healthy answer.
async fn behave(req: Request, mut stream: TcpStream, counter: Arc<AtomicUsize>) {
    let mode = req.param("mode").unwrap_or_default().to_string();
    if req.path == "/api/agent/events" {
        return event_stream(&req, stream, &counter).await;
    }
    match mode.as_str() {
        "" => respond_json(&mut stream, 200, &raw::categories()).await,
        "hold" => raw::hold(stream).await,
        "trickle" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            for _ in 0..3600 {
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        "huge-length" => {
            let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {HUGE}\r\n\r\n");
            let _ = stream.write_all(head.as_bytes()).await;
            stream_zeros(&mut stream, HUGE, false, &counter).await;
        }
        "huge-chunked" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            stream_zeros(&mut stream, HUGE, true, &counter).await;
        }
        "bad-json" => {
            respond(
                &mut stream,
                200,
                &[("content-type", "application/json")],
                b"{\"categories\": [\"Research\", ",
            )
            .await
        }
        "html" => {
            respond(
                &mut stream,
                200,
                &[("content-type", "text/html")],
                b"<html><body>hello</body></html>",
            )
            .await
        }
        "reset" => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{\"categories\": [";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        "cut" => {
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{\"categories\": [";
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
        "loop" => respond(&mut stream, 302, &[("location", "/api/categories?mode=loop")], b"").await,
        "500" => respond_json(&mut stream, 500, &json!({"error": "boom", "code": "INTERNAL"})).await,
        "503" => {
            respond(
                &mut stream,
                503,
                &[("content-type", "text/plain")],
                b"upstream unavailable",
            )
            .await
        }
        "429-huge" => {
            respond(
                &mut stream,
                429,
                &[("retry-after", "999999999"), ("content-type", "application/json")],
                b"{\"error\":\"later\",\"code\":\"RATE_LIMITED\"}",
            )
            .await;
        }
        "429-soon" => {
            respond(
                &mut stream,
                429,
                &[("retry-after", "soon"), ("content-type", "application/json")],
                b"{\"error\":\"later\",\"code\":\"RATE_LIMITED\"}",
            )
            .await;
        }
        other => {
            respond_json(
                &mut stream,
                400,
                &json!({"error": format!("unknown mode {other}"), "code": "BAD"}),
            )
            .await
        }
    }
}

/// `GET /api/agent/events` by `?types=` (the one query a `subscribe`
/// sends): silent (the default), no headers, or one endless frame.
async fn event_stream(req: &Request, mut stream: TcpStream, counter: &AtomicUsize) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n";
    match req.param("types").unwrap_or_default() {
        "no-headers" => raw::hold(stream).await,
        "endless-frame" => {
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(b"event: job.available\ndata: ").await;
            stream_zeros(&mut stream, HUGE, false, counter).await;
        }
        _ => {
            let _ = stream.write_all(head.as_bytes()).await;
            raw::hold(stream).await;
        }
    }
}

async fn hostile_server() -> (raw::Server, Arc<AtomicUsize>) {
    let counter = Arc::new(AtomicUsize::new(0));
    let c = counter.clone();
    let server = raw::start(move |req, stream| behave(req, stream, c.clone())).await;
    (server, counter)
}

fn healthy() -> String {
    categories_scenario("healthy", "")
}

#[tokio::test]
async fn a_refused_connection_is_errored_and_named() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let one = categories_scenario("one", "");
    let two = categories_scenario("two", "");
    let (report, took) = run_bounded(remote(&dead), &[&one, &two], tight(), LIMIT).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    for s in &report.scenarios {
        let m = errored(&s.outcome);
        assert!(m.contains("connection refused") && m.contains("control API"), "{m}");
    }
    // Without a control API the request itself is refused, and the step says so.
    let mut p = Profile::from_url(&dead).unwrap();
    p.control = None;
    let (report, _) = run_bounded(TargetSpec::Remote(p), &[&one], tight(), LIMIT).await;
    let s = &report.scenarios[0];
    assert!(
        errored(&s.steps[0].outcome).contains("connection refused"),
        "{:?}",
        s.steps[0].outcome
    );
    assert!(errored(&s.outcome).starts_with("step 1: "), "{:?}", s.outcome);
    assert_eq!(
        (report.totals.errored, report.totals.failed),
        (1, 0),
        "could not run is not a failure"
    );
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_errored_and_named() {
    let one = categories_scenario("one", "");
    let mut p = Profile::from_url("http://agentgigs-conformance-test.invalid").unwrap();
    p.control = None;
    p.pace = false;
    assert!(!p.sandbox, "a remote name is not a sandbox");
    let (report, took) = run_bounded(TargetSpec::Remote(p), &[&one], tight(), LIMIT).await;
    let m = errored(&report.scenarios[0].outcome);
    // Without any resolver the lookup may also hang; then the limit names it.
    assert!(m.contains("DNS lookup failed") || m.contains("timed out"), "{m}");
    assert!(m.contains("agentgigs-conformance-test.invalid"), "{m}");
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test]
async fn tls_is_verified_by_default_and_insecure_accepts_a_self_signed_certificate() {
    let server = raw::start_tls();
    let one = categories_scenario("one", "");
    let with_actor = "id: hostile.tls-actor\ntitle: x\nactors: {agent: {role: agent}}\nsteps:\n  - as: agent\n    request: {method: GET, path: /api/categories}\n";
    let (report, _) = run_bounded(remote(&server.url), &[&one, with_actor], tight(), LIMIT).await;
    for s in &report.scenarios {
        let m = errored(&s.outcome);
        assert!(
            m.contains("TLS failed") && m.to_ascii_lowercase().contains("certificate"),
            "{m}"
        );
    }
    assert!(
        server.seen.lock().issued.is_empty(),
        "no actor was created over an unverified connection"
    );

    let (report, _) = run_bounded(
        remote(&server.url),
        &[&one, with_actor],
        RunOptions {
            insecure: true,
            ..tight()
        },
        LIMIT,
    )
    .await;
    for s in &report.scenarios {
        assert_eq!(s.outcome, Outcome::Passed, "{}: {:?}", s.id, findings(s));
    }
    // The profile's own `insecure` (set from the command line) works too.
    let mut p = Profile::from_url(&server.url).unwrap();
    p.insecure = true;
    p.pace = false;
    let (report, _) = run_bounded(TargetSpec::Remote(p), &[&one], tight(), LIMIT).await;
    assert_eq!(report.scenarios[0].outcome, Outcome::Passed);
}

#[tokio::test]
async fn answers_that_never_come_or_trickle_time_out_and_the_rest_of_the_run_goes_on() {
    let (server, _) = hostile_server().await;
    let hold = categories_scenario("hold", "hold");
    let trickle = categories_scenario("trickle", "trickle");
    let ok = healthy();
    let (report, took) = run_bounded(remote(&server.url), &[&hold, &trickle, &ok], tight(), LIMIT).await;
    for id in ["hostile.hold", "hostile.trickle"] {
        let s = scenario(&report, id);
        let m = errored(&s.steps[0].outcome);
        assert!(m.contains("timed out") && m.contains("request time limit"), "{id}: {m}");
        assert!(m.contains("/api/categories"), "the message names the request: {m}");
    }
    assert_eq!(scenario(&report, "hostile.healthy").outcome, Outcome::Passed);
    assert!(
        took < Duration::from_secs(6),
        "bounded by the 1 s request limit: {took:?}"
    );
}

#[tokio::test]
async fn event_streams_that_stay_silent_never_open_or_never_end_a_frame_are_bounded() {
    let (server, counter) = hostile_server().await;
    let stream_scenario = |id: &str, types: &str, within_ms: u64| {
        format!(
            "id: hostile.{id}\ntitle: x\nactors: {{agent: {{role: agent}}}}\nsteps:\n  - as: agent\n    subscribe: {{stream: s, types: [{types}]}}\n  - event: {{stream: s, type: job.available, within_ms: {within_ms}}}\n"
        )
    };
    let silent = stream_scenario("silent", "job.available", 400);
    let no_headers = stream_scenario("no-headers", "no-headers", 400);
    let endless = stream_scenario("endless", "endless-frame", 4000);
    let ok = healthy();
    let (report, took) = run_bounded(
        remote(&server.url),
        &[&silent, &no_headers, &endless, &ok],
        tight(),
        LIMIT,
    )
    .await;

    // Silent: the stream opens, the event never comes: a finding, in `within_ms`.
    let s = scenario(&report, "hostile.silent");
    assert_eq!(s.steps[0].outcome, Outcome::Passed, "{:?}", findings(s));
    assert_eq!(s.outcome, Outcome::Failed, "a missing event is a finding");
    assert!(
        findings(s)
            .iter()
            .any(|f| f.kind == FindingKind::Event && f.message.contains("no `job.available` event")),
        "{:?}",
        findings(s)
    );
    // No headers: opening the stream cannot complete: could not run.
    let s = scenario(&report, "hostile.no-headers");
    let m = errored(&s.steps[0].outcome);
    assert!(m.contains("opening the event stream timed out"), "{m}");
    assert!(matches!(s.steps[1].outcome, Outcome::Skipped { .. }));
    // One frame that never ends: cut at `max_body_bytes`, the stream closed, memory bounded.
    let s = scenario(&report, "hostile.endless");
    assert_eq!(s.outcome, Outcome::Failed, "{:?}", s.outcome);
    let f = findings(s);
    assert!(
        f.iter()
            .any(|f| f.message.contains("the stream ended") && f.message.contains("larger than 1048576 bytes")),
        "{f:?}"
    );
    assert!(
        s.steps[1].duration_ms < 3500,
        "the event step ended when the stream was cut: {} ms",
        s.steps[1].duration_ms
    );
    assert!(
        counter.load(Ordering::Relaxed) < 64 * 1024 * 1024,
        "the harness stopped reading the endless frame"
    );

    assert_eq!(scenario(&report, "hostile.healthy").outcome, Outcome::Passed);
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test]
async fn bodies_larger_than_the_cap_are_not_read_and_memory_stays_bounded() {
    let (server, counter) = hostile_server().await;
    let by_length = categories_scenario("huge-length", "huge-length");
    let chunked = categories_scenario("huge-chunked", "huge-chunked");
    let ok = healthy();
    let options = RunOptions {
        request_timeout: Duration::from_secs(5),
        step_timeout: Duration::from_secs(5),
        ..tight()
    };
    let (report, took) = run_bounded(remote(&server.url), &[&by_length, &chunked, &ok], options, LIMIT).await;
    for id in ["hostile.huge-length", "hostile.huge-chunked"] {
        let s = scenario(&report, id);
        let m = errored(&s.steps[0].outcome);
        assert!(
            m.contains("larger than 1048576 bytes") && m.contains("max_body_bytes"),
            "{id}: {m}"
        );
    }
    assert_eq!(scenario(&report, "hostile.healthy").outcome, Outcome::Passed);
    assert!(took < Duration::from_secs(8), "bounded: {took:?}");
    // The server could only push what the socket buffers held after the harness stopped reading.
    let pushed = counter.load(Ordering::Relaxed);
    assert!(pushed < 64 * 1024 * 1024, "the harness read on: {pushed} bytes pushed");
}

#[tokio::test]
async fn invalid_json_a_wrong_content_type_and_5xx_are_findings_not_errors() {
    let (server, _) = hostile_server().await;
    let bad = categories_scenario("bad-json", "bad-json");
    let html = categories_scenario("html", "html");
    let e500 = categories_scenario("e500", "500");
    let e503 = categories_scenario("e503", "503");
    let ok = healthy();
    let (report, _) = run_bounded(remote(&server.url), &[&bad, &html, &e500, &e503, &ok], tight(), LIMIT).await;
    let s = scenario(&report, "hostile.bad-json");
    assert_eq!(s.outcome, Outcome::Failed);
    assert!(has_finding(s, FindingKind::InvalidJson), "{:?}", findings(s));
    let s = scenario(&report, "hostile.html");
    assert_eq!(s.outcome, Outcome::Failed);
    assert!(has_finding(s, FindingKind::ContentType), "{:?}", findings(s));
    for id in ["hostile.e500", "hostile.e503"] {
        let s = scenario(&report, id);
        assert_eq!(s.outcome, Outcome::Failed, "{id}");
        assert!(has_finding(s, FindingKind::Status), "{id}: {:?}", findings(s));
        assert!(
            has_finding(s, FindingKind::UndocumentedStatus),
            "{id}: {:?}",
            findings(s)
        );
        assert_eq!(
            s.steps[0].response.as_ref().map(|r| r.status),
            Some(if id.ends_with("500") { 500 } else { 503 })
        );
    }
    assert_eq!(scenario(&report, "hostile.healthy").outcome, Outcome::Passed);
    assert_eq!(
        (report.totals.failed, report.totals.errored, report.totals.passed),
        (4, 0, 1)
    );
}

#[tokio::test]
async fn a_connection_reset_or_cut_mid_body_and_a_redirect_loop_are_errored_and_named() {
    let (server, _) = hostile_server().await;
    let reset = categories_scenario("reset", "reset");
    let cut = categories_scenario("cut", "cut");
    let looping = categories_scenario("loop", "loop");
    let ok = healthy();
    let (report, took) = run_bounded(remote(&server.url), &[&reset, &cut, &looping, &ok], tight(), LIMIT).await;
    let m = errored(&scenario(&report, "hostile.reset").steps[0].outcome);
    assert!(
        m.contains("connection reset") && m.contains("cannot read the body"),
        "{m}"
    );
    let m = errored(&scenario(&report, "hostile.cut").steps[0].outcome);
    assert!(m.contains("closed before the answer was complete"), "{m}");
    let m = errored(&scenario(&report, "hostile.loop").steps[0].outcome);
    assert!(m.contains("too many redirects"), "{m}");
    assert_eq!(scenario(&report, "hostile.healthy").outcome, Outcome::Passed);
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[tokio::test]
async fn a_429_with_an_absurd_or_malformed_retry_after_waits_boundedly_and_says_so() {
    let (server, _) = hostile_server().await;
    let huge = categories_scenario("retry-huge", "429-huge");
    let soon = categories_scenario("retry-soon", "429-soon");
    let ok = healthy();
    let (report, took) = run_bounded(remote(&server.url), &[&huge, &soon, &ok], tight(), LIMIT).await;

    // 999999999 s: not waited for at all, and the report says why.
    let s = scenario(&report, "hostile.retry-huge");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!((s.steps[0].attempts, s.steps[0].retries), (1, 0));
    assert!(
        findings(s)
            .iter()
            .any(|f| f.message.contains("`Retry-After: 999999999`") && f.message.contains("not retried")),
        "{:?}",
        findings(s)
    );
    assert!(s.duration_ms < 1000, "{} ms", s.duration_ms);

    // `soon`: malformed, read as 1 s, retried once (`retry_429: 1`), and reported.
    let s = scenario(&report, "hostile.retry-soon");
    assert_eq!(s.outcome, Outcome::Failed);
    assert_eq!((s.steps[0].attempts, s.steps[0].retries), (2, 1));
    assert!(
        findings(s)
            .iter()
            .any(|f| f.kind == FindingKind::Header && f.message.contains("`Retry-After: soon`")),
        "{:?}",
        findings(s)
    );
    assert!(s.duration_ms >= 900 && s.duration_ms < 3000, "{} ms", s.duration_ms);

    assert_eq!(scenario(&report, "hostile.healthy").outcome, Outcome::Passed);
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[tokio::test]
async fn a_control_api_that_hangs_or_floods_is_bounded_too() {
    // The control API itself misbehaves: a hanging `GET /__conformance`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(raw::hold(stream));
        }
    });
    let one = categories_scenario("one", "");
    let (report, took) = run_bounded(remote(&url), &[&one], tight(), LIMIT).await;
    let m = errored(&report.scenarios[0].outcome);
    assert!(m.contains("control API") && m.contains("timed out"), "{m}");
    assert!(
        took < Duration::from_secs(6),
        "the control call obeys the request limit: {took:?}"
    );

    // A control API answering 200 MB: refused after 1 MB, quickly.
    let counter = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let c = counter.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let c = c.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                stream_zeros(&mut stream, HUGE, true, &c).await;
            });
        }
    });
    let (report, took) = run_bounded(remote(&url), &[&one], tight(), LIMIT).await;
    let m = errored(&report.scenarios[0].outcome);
    assert!(m.contains("control API") && m.contains("larger than"), "{m}");
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert!(counter.load(Ordering::Relaxed) < 64 * 1024 * 1024);
}
