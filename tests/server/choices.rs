//! The choice switches over HTTP: for each, the default answer and the
//! switched one, which must differ exactly as the switch says; the refusal
//! of unknown names; and a server with every choice on still keeping the
//! documented rules.

use std::collections::BTreeSet;

use agentgigs_conformance::mock::KNOWN_CHOICES;

use super::*;

/// A narrow documented contract for the field choices (which read the
/// contract, not the reference server's own spec).
const NARROW_CONTRACT: &str = r##"
openapi: 3.0.3
info: {title: a narrow contract, version: "1"}
paths:
  /api/wallet:
    get:
      responses:
        '200':
          description: the balance only
          content:
            application/json:
              schema: {type: object, properties: {balance: {type: integer}}}
  /api/agent/jobs:
    post:
      responses:
        '201':
          description: the job, some fields
          content:
            application/json:
              schema:
                type: object
                properties:
                  job: {$ref: '#/components/schemas/Job'}
        4XX:
          description: an error
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Error'}
  /api/auth/register:
    post:
      responses:
        '201': {description: the docs do not describe this answer}
components:
  schemas:
    Error:
      type: object
      properties: {error: {type: string}, code: {type: string}}
    Job:
      type: object
      properties: {title: {type: string}, budget_min: {type: integer}}
"##;

fn with_contract(choices: &[&str]) -> MockConfig {
    MockConfig {
        contract: Some(NARROW_CONTRACT.into()),
        ..choosing(choices)
    }
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn job_body() -> Value {
    json!({
        "title": "Market research on widgets",
        "description": "Find the top ten widget makers and their prices.",
        "category": "Research", "budget_min": 1000, "budget_max": 10000,
    })
}

/// The file behind `path` on `job`: its signed-URL answer.
async fn download(s: &Srv, who: &Actor, job: &str, path: &str) -> Resp {
    s.send(Method::GET, &format!("/api/jobs/{job}/download"), &who.key, |rb| {
        rb.query(&[("file", path)])
    })
    .await
}

/// An attachment on `job` by its poster; returns its path.
async fn attach(s: &Srv, p: &Actor, job: &str, name: &str, bytes: &[u8]) -> String {
    let up = s
        .upload(&format!("/api/jobs/{job}/attachments"), p, name, bytes.to_vec())
        .await;
    up.ok()["attachment"]["file_path"].as_str().unwrap().to_string()
}

/// Reads the raw event stream until `done` holds for what arrived.
async fn read_until(
    bytes: &mut (impl futures::Stream<Item = reqwest::Result<axum::body::Bytes>> + Unpin),
    seen: &mut String,
    done: impl Fn(&str) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !done(seen) {
            seen.push_str(&String::from_utf8_lossy(&bytes.next().await.unwrap().unwrap()));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the stream never showed it; got {seen:?}"));
}

#[tokio::test]
async fn choice_names_are_fixed_and_unknown_ones_refused() {
    init();
    let names: Vec<&str> = KNOWN_CHOICES.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "other_codes",
            "created_200",
            "content_type_400",
            "links_403",
            "downloads_text_plain",
            "documented_fields_only",
            "renamed_fields",
            "alternatives",
            "statuses",
            "sse_type_in_data",
            "fixed_window_limits",
            "unknown_types_ignored",
            "validation_422",
            "conflicts_400",
            "reject_others_on_hire",
        ]
    );
    assert!(KNOWN_CHOICES.iter().all(|(_, what)| !what.is_empty()));
    match MockServer::start(choosing(&["other_codes", "no_such_choice"])).await {
        Err(e @ MockError::UnknownChoice { .. }) => {
            let text = e.to_string();
            assert!(text.contains("`no_such_choice`"), "{text}");
            for name in &names {
                assert!(text.contains(name), "{text} lists {name}");
            }
        }
        other => panic!("an unknown choice starts a server: {other:?}"),
    }
    let bad = MockConfig {
        contract: Some("just: text".into()),
        ..choosing(&["documented_fields_only"])
    };
    assert!(matches!(
        MockServer::start(bad).await,
        Err(MockError::BadContract { .. })
    ));
    let all = MockConfig::all_choices();
    assert_eq!(all.choices.len(), KNOWN_CHOICES.len());
    all.validate()
        .expect("every known choice is accepted, with the embedded contract");
    MockServer::start(all).await.expect("starts").shutdown().await;
}

#[tokio::test]
async fn other_codes_renames_every_code_but_the_documented_one() {
    for (choices, unauthenticated, invalid_state) in [
        (&[][..], "UNAUTHENTICATED", "INVALID_STATE"),
        (&["other_codes"][..], "err.unauthenticated", "err.invalid_state"),
    ] {
        let s = start_with(choosing(choices)).await;
        let r = s.get("/api/wallet", &Auth::None).await;
        r.expect(401, unauthenticated);
        let p = s.actor("poster", json!({})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        let job = s.job(&p, 0).await;
        s.post(&format!("/api/jobs/{job}/approve"), &p.key, json!(null))
            .await
            .expect(400, invalid_state);
        let body =
            json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
        s.post(&format!("/api/jobs/{job}/apply"), &a.key, body)
            .await
            .expect(403, "ACKNOWLEDGMENT_REQUIRED");
        // The control API is not AgentGigs: its code stays.
        let token = start_with(MockConfig {
            control_token: Some("tok".into()),
            ..choosing(choices)
        })
        .await;
        token
            .get("/__conformance", &Auth::None)
            .await
            .expect(401, "CONTROL_TOKEN_REQUIRED");
    }
}

#[tokio::test]
async fn created_200_answers_creations_with_200() {
    for (choices, created) in [(&[][..], 201), (&["created_200"][..], 200)] {
        let s = start_with(choosing(choices)).await;
        let reg = s
            .post(
                "/api/auth/register",
                &Auth::None,
                json!({"email": "new@agentgigs.test", "password": "longenough"}),
            )
            .await;
        assert_eq!(reg.status, created, "register");
        let jwt = Auth::Jwt(reg.body["accessToken"].as_str().unwrap().to_string());
        let profile = s
            .post(
                "/api/agent/profile",
                &jwt,
                json!({"name": "New Bot", "specializations": ["Research"]}),
            )
            .await;
        assert_eq!(profile.status, 200, "upstream fixes 200 for the profile");
        let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        assert_eq!(s.post("/api/agent/jobs", &p.key, job_body()).await.status, created);
        let job = s.job(&p, 0).await;
        let up = s
            .upload(
                &format!("/api/jobs/{job}/attachments"),
                &p,
                "brief.txt",
                b"brief".to_vec(),
            )
            .await;
        assert_eq!(up.status, created, "attachment");
        s.hire(&p, &a, &job, 5000).await;
        let up = s
            .upload(
                &format!("/api/agent/jobs/{job}/upload-deliverable"),
                &a,
                "report.md",
                b"done".to_vec(),
            )
            .await;
        assert_eq!(up.status, created, "deliverable");
        let msg = s
            .post(
                &format!("/api/jobs/{job}/messages"),
                &a.key,
                json!({"message": "Starting now."}),
            )
            .await;
        assert_eq!(msg.status, created, "message");
        // Documented 200s stay; the control API keeps its 201 (`actor` checks it).
        let nda = s.post(&format!("/api/jobs/{job}/nda"), &a.key, json!(null)).await;
        assert_eq!(nda.status, 200);
    }
}

#[tokio::test]
async fn content_type_400_answers_wrong_content_types_with_400() {
    for (choices, status) in [(&[][..], 415), (&["content_type_400"][..], 400)] {
        let s = start_with(choosing(choices)).await;
        let p = s.actor("poster", json!({})).await;
        let r = s
            .send(Method::POST, "/api/agent/jobs", &p.key, |rb| {
                rb.header("content-type", "text/plain").body("title=Widgets")
            })
            .await;
        r.expect(status, "UNSUPPORTED_MEDIA_TYPE");
        let job = s.job(&p, 0).await;
        s.post(&format!("/api/jobs/{job}/attachments"), &p.key, json!({"file": "x"}))
            .await
            .expect(status, "UNSUPPORTED_MEDIA_TYPE");
    }
}

#[tokio::test]
async fn links_403_refuses_unknown_and_expired_links_with_403() {
    for (choices, unknown, expired) in [(&[][..], 404, 410), (&["links_403"][..], 403, 403)] {
        let s = start_with(choosing(choices)).await;
        let p = s.actor("poster", json!({})).await;
        let job = s.job(&p, 0).await;
        let path = attach(&s, &p, &job, "brief.txt", b"brief").await;
        let url = download(&s, &p, &job, &path).await.ok()["signedUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let fresh = s.http.get(&url).send().await.unwrap();
        assert_eq!(fresh.status(), 200);
        s.get("/files/no-such-token", &Auth::None)
            .await
            .expect(unknown, "NOT_FOUND");
        s.advance(3601).await;
        s.get(&url[s.base.len()..], &Auth::None)
            .await
            .expect(expired, "LINK_EXPIRED");
    }
}

#[tokio::test]
async fn downloads_text_plain_serves_every_file_as_text() {
    for (choices, content_type) in [
        (&[][..], "application/octet-stream"),
        (&["downloads_text_plain"][..], "text/plain; charset=utf-8"),
    ] {
        let s = start_with(choosing(choices)).await;
        let p = s.actor("poster", json!({})).await;
        let job = s.job(&p, 0).await;
        let path = attach(&s, &p, &job, "data.pdf", b"%PDF-1.4").await;
        let url = download(&s, &p, &job, &path).await.ok()["signedUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let file = s.http.get(&url).send().await.unwrap();
        assert_eq!(file.headers()["content-type"], content_type);
        assert_eq!(file.bytes().await.unwrap().as_ref(), b"%PDF-1.4");
    }
}

#[tokio::test]
async fn documented_fields_only_prunes_answers_to_the_contract() {
    let plain = start_with(with_contract(&[])).await;
    let pruned = start_with(with_contract(&["documented_fields_only"])).await;
    for (s, is_pruned) in [(&plain, false), (&pruned, true)] {
        let p = s.actor("poster", json!({"wallet_cents": 100})).await;
        let wallet = s.get("/api/wallet", &p.key).await;
        let want = if is_pruned {
            set(&["balance"])
        } else {
            set(&["balance", "formatted"])
        };
        assert_eq!(keys(wallet.ok()), want);
        let created = s.post("/api/agent/jobs", &p.key, job_body()).await;
        let body = created.ok();
        if is_pruned {
            assert_eq!(keys(body), set(&["job"]));
            assert_eq!(
                keys(&body["job"]),
                set(&["id", "title", "budget_min"]),
                "`id` is always kept"
            );
        } else {
            assert!(keys(body).contains("success"));
            assert!(keys(&body["job"]).contains("poster_id"));
        }
        let refused = s.post("/api/agent/jobs", &p.key, json!({"title": 5})).await;
        refused.expect(400, "VALIDATION_FAILED");
        assert_eq!(
            refused.body.get("details").is_some(),
            !is_pruned,
            "4XX declares error, code"
        );
        // An answer whose documented schema declares nothing is left as it is.
        let reg = s
            .post(
                "/api/auth/register",
                &Auth::None,
                json!({"email": "r@agentgigs.test", "password": "longenough"}),
            )
            .await;
        assert_eq!(
            keys(reg.ok()),
            set(&["success", "userId", "accessToken", "refreshToken"])
        );
    }
    // With the embedded contract, the documented wallet answer keeps both fields.
    let s = start_with(choosing(&["documented_fields_only"])).await;
    let p = s.actor("poster", json!({"wallet_cents": 100})).await;
    assert_eq!(
        keys(s.get("/api/wallet", &p.key).await.ok()),
        set(&["balance", "formatted"])
    );
}

#[tokio::test]
async fn renamed_fields_camel_cases_what_the_contract_does_not_declare() {
    let plain = start_with(with_contract(&[])).await;
    let renamed = start_with(with_contract(&["renamed_fields"])).await;
    for (s, is_renamed) in [(&plain, false), (&renamed, true)] {
        let p = s.actor("poster", json!({})).await;
        let created = s.post("/api/agent/jobs", &p.key, job_body()).await;
        let job = &created.ok()["job"];
        let names = keys(job);
        assert!(names.contains("budget_min"), "declared: untouched");
        assert!(names.contains("title") && names.contains("id"));
        assert_eq!(names.contains("posterId"), is_renamed, "{names:?}");
        assert_eq!(names.contains("poster_id"), !is_renamed);
        assert_eq!(names.contains("budgetMax"), is_renamed);
        assert_eq!(names.contains("releaseScheduledAt"), is_renamed);
    }
    // Both on: renamed first, then pruned, so undeclared fields vanish.
    let both = start_with(with_contract(&["renamed_fields", "documented_fields_only"])).await;
    let p = both.actor("poster", json!({})).await;
    let created = both.post("/api/agent/jobs", &p.key, job_body()).await;
    assert_eq!(keys(&created.ok()["job"]), set(&["id", "title", "budget_min"]));

    // Event payloads are undocumented: every key is renamed, whatever the contract.
    for (choices, job_key, budget_key) in [
        (&[][..], "job_id", "budget_min"),
        (&["renamed_fields"][..], "jobId", "budgetMin"),
    ] {
        let s = start_with(choosing(choices)).await;
        let p = s.actor("poster", json!({})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        let mut stream = open_sse(&s, &a, "").await;
        let job = s.job(&p, 0).await;
        let ev = next_event(&mut stream).await;
        assert_eq!(ev.event, "job.available", "the type names do not change");
        let data: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(data[job_key], json!(job), "{data}");
        assert_eq!(data[budget_key], 1000, "{data}");
        assert_eq!(data["type"], "job.available");
        let occurred = if choices.is_empty() {
            "occurred_at"
        } else {
            "occurredAt"
        };
        assert!(data.get(occurred).is_some(), "{data}");
    }
}

#[tokio::test]
async fn alternatives_answer_the_other_documented_versions() {
    for alt in [false, true] {
        let s = start_with(choosing(if alt { &["alternatives"] } else { &[] })).await;
        let reg = s
            .post(
                "/api/auth/register",
                &Auth::None,
                json!({"email": "r@agentgigs.test", "password": "longenough"}),
            )
            .await;
        let want = if alt {
            set(&["userId"])
        } else {
            set(&["success", "userId", "accessToken", "refreshToken"])
        };
        assert_eq!(keys(reg.ok()), want, "register");

        let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
        let a = s
            .actor("agent", json!({"specializations": ["Research"], "tier": "free"}))
            .await;
        let job = s.job(&p, 0).await;
        s.post(&format!("/api/jobs/{job}/nda"), &a.key, json!(null)).await.ok();
        let body =
            json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
        let applied = s.post(&format!("/api/jobs/{job}/apply"), &a.key, body).await;
        let v = applied.ok();
        if alt {
            assert_eq!(keys(v), set(&["applicationId"]), "apply: {v}");
        } else {
            assert_eq!(keys(v), set(&["application"]), "apply: {v}");
        }
        let app = v["application"]["id"].as_str().or(v["applicationId"].as_str()).unwrap();
        s.post(
            &format!("/api/agent/jobs/{job}/accept-application"),
            &p.key,
            json!({"applicationId": app}),
        )
        .await
        .ok();
        s.post(
            &format!("/api/jobs/{job}/fund-escrow"),
            &p.key,
            json!({"applicationId": app, "useWallet": true}),
        )
        .await
        .ok();

        let path = attach(&s, &p, &job, "brief.txt", b"brief").await;
        let link = download(&s, &a, &job, &path).await;
        let v = link.ok();
        let url_key = if alt { "url" } else { "signedUrl" };
        assert_eq!(keys(v), set(&[url_key, "expires_in"]), "download: {v}");
        let fetched = s.http.get(v[url_key].as_str().unwrap()).send().await.unwrap();
        assert_eq!(fetched.status(), 200);

        // A free agent's 11 MB deliverable: 50 MB for all, or 10 MB for free accounts.
        let big = s
            .upload(
                &format!("/api/agent/jobs/{job}/upload-deliverable"),
                &a,
                "big.zip",
                vec![0u8; 11 * 1024 * 1024],
            )
            .await;
        if alt {
            big.expect(413, "PAYLOAD_TOO_LARGE");
        } else {
            assert_eq!(big.status, 201);
        }

        // The release cooldown of a young account.
        s.deliver(&a, &job).await;
        let approved = s.post(&format!("/api/jobs/{job}/approve"), &p.key, json!(null)).await;
        assert_eq!(approved.ok()["cooldownHours"], if alt { 336 } else { 24 });

        // Proofers do not see the agent's name.
        let proof_job = s.job(&p, 1).await;
        s.hire(&p, &a, &proof_job, 5000).await;
        s.deliver(&a, &proof_job).await;
        let pr = s.actor("proofer", json!({"specializations": ["Research"]})).await;
        let needed = s.get("/api/jobs/proof-needed", &pr.key).await;
        let row = &needed.ok()["jobs"][0];
        assert_eq!(row["id"], json!(proof_job));
        assert_eq!(row.get("agent_name").is_some(), !alt, "{row}");
    }
}

#[tokio::test]
async fn statuses_keep_an_approved_job_delivered_until_the_release() {
    for (choices, after_approve) in [(&[][..], "completed"), (&["statuses"][..], "delivered")] {
        let s = start_with(choosing(choices)).await;
        let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        let job = s.job(&p, 0).await;
        s.hire(&p, &a, &job, 5000).await;
        s.deliver(&a, &job).await;
        s.post(&format!("/api/jobs/{job}/approve"), &p.key, json!(null))
            .await
            .ok();
        let status = |r: Resp| r.body["job"]["status"].as_str().unwrap().to_string();
        let details = s.get(&format!("/api/agent/jobs/{job}/details"), &p.key).await;
        assert_eq!(status(details), after_approve);
        s.advance(24 * 3600 + 1).await;
        let details = s.get(&format!("/api/agent/jobs/{job}/details"), &p.key).await;
        assert_eq!(status(details), "completed", "{choices:?}");
        assert_eq!(s.balance(&a).await, 5000 - 250, "enterprise keeps 95%");
    }
}

#[tokio::test]
async fn sse_type_in_data_drops_the_event_line_and_pings() {
    for typeless in [false, true] {
        let s = start_with(MockConfig {
            keepalive: Duration::from_millis(100),
            ..choosing(if typeless { &["sse_type_in_data"] } else { &[] })
        })
        .await;
        let p = s.actor("poster", json!({})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        let Auth::Key(key) = &a.key else { unreachable!() };
        let resp = s
            .http
            .get(format!("{}/api/agent/events", s.base))
            .header("X-API-Key", key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut bytes = resp.bytes_stream();
        let mut seen = String::new();
        let keepalive = if typeless {
            "event: ping\ndata: \n\n"
        } else {
            ": keepalive\n"
        };
        read_until(&mut bytes, &mut seen, |t| t.contains(keepalive)).await;
        let job = s.job(&p, 0).await;
        read_until(&mut bytes, &mut seen, |t| {
            t.contains(job.as_str()) && t.ends_with("\n\n")
        })
        .await;
        let frame = seen
            .split("\n\n")
            .find(|f| f.contains(job.as_str()))
            .expect("the job's frame");
        assert!(frame.contains("\"type\":\"job.available\""), "{frame}");
        assert_eq!(frame.contains("event: job.available"), !typeless, "{frame}");
        assert!(frame.lines().any(|l| l.starts_with("id: ")), "{frame}");
        // The flush marker (control feature `events_flush`) comes in the
        // same form as events: its type in the payload, an `event:` line
        // only when frames have one.
        let r = s
            .http
            .post(format!("{}/__conformance/events/flush", s.base))
            .json(&json!({"token": "t-typeless"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        read_until(&mut bytes, &mut seen, |t| {
            t.contains("t-typeless") && t.ends_with("\n\n")
        })
        .await;
        let marker = seen
            .split("\n\n")
            .find(|f| f.contains("t-typeless"))
            .expect("the marker's frame");
        assert!(marker.contains("\"type\":\"conformance.flush\""), "{marker}");
        assert_eq!(marker.contains("event: conformance.flush"), !typeless, "{marker}");
        if typeless {
            assert!(!seen.contains(": keepalive"), "no comment keepalive: {seen:?}");
            assert!(
                seen.lines().all(|l| !l.starts_with("event: ") || l == "event: ping"),
                "{seen:?}"
            );
        } else {
            assert!(!seen.contains("event: ping"), "{seen:?}");
        }
    }
}

#[tokio::test]
async fn fixed_window_limits_count_in_clock_aligned_minutes() {
    // The server clock starts half-way through a minute.
    let start = chrono::DateTime::parse_from_rfc3339("2031-03-01T10:20:30Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    for (choices, retry, reopens) in [(&[][..], 45..=60, false), (&["fixed_window_limits"][..], 1..=30, true)] {
        let s = start_with(MockConfig {
            clock_start: Some(start),
            ..choosing(choices)
        })
        .await;
        let a = s.actor("agent", json!({"tier": "free"})).await;
        for _ in 0..30 {
            s.get("/api/wallet", &a.key).await.ok();
        }
        let r = s.get("/api/wallet", &a.key).await;
        r.expect(429, "RATE_LIMITED");
        let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(retry.contains(&secs), "Retry-After {secs} ({choices:?})");
        // Past the minute boundary (10:21:00), long before the first request is a minute old.
        s.advance(31).await;
        let r = s.get("/api/wallet", &a.key).await;
        assert_eq!(r.status == 200, reopens, "{choices:?}: {}", r.body);
    }
}

#[tokio::test]
async fn unknown_types_ignored_keeps_filtering_on_the_known_ones() {
    let s = start().await;
    let a = s.actor("agent", json!({})).await;
    s.get("/api/agent/events?types=job.available,nope", &a.key)
        .await
        .expect(400, "VALIDATION_FAILED");

    let s = start_with(choosing(&["unknown_types_ignored"])).await;
    let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let mut stream = open_sse(&s, &a, "?types=job.available,nope").await;
    let first = s.job(&p, 0).await;
    let ev = next_event(&mut stream).await;
    assert_eq!(ev.event, "job.available");
    // An application.update is filtered out: the next event is the second job.
    s.hire(&p, &a, &first, 5000).await;
    let second = s.job(&p, 0).await;
    let ev = next_event(&mut stream).await;
    assert_eq!(ev.event, "job.available");
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(data["job_id"], json!(second));
}

#[tokio::test]
async fn validation_422_leaves_the_documented_400s_alone() {
    for (choices, status) in [(&[][..], 400), (&["validation_422"][..], 422)] {
        let s = start_with(choosing(choices)).await;
        let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        s.post("/api/agent/jobs", &p.key, json!({"title": 5}))
            .await
            .expect(status, "VALIDATION_FAILED");
        s.get("/api/agent/jobs/available?limit=0", &a.key)
            .await
            .expect(status, "VALIDATION_FAILED");
        // Not a validation failure: malformed JSON.
        s.send(Method::POST, "/api/agent/jobs", &p.key, |rb| {
            rb.header("content-type", "application/json").body("{")
        })
        .await
        .expect(400, "INVALID_JSON");
        // The documented 400s: proofer count mismatch with its counts, slots
        // full, wrong application type, proof settings out of their window.
        let job = s.job(&p, 1).await;
        s.hire(&p, &a, &job, 5000).await;
        s.deliver(&a, &job).await;
        let r = s
            .post(&format!("/api/jobs/{job}/fund-proof-escrow"), &p.key, json!(null))
            .await;
        r.expect(400, "PROOFER_COUNT_MISMATCH");
        assert_eq!(
            (r.body["accepted"].as_u64(), r.body["required"].as_u64()),
            (Some(0), Some(1))
        );
        let prs = [
            s.actor("proofer", json!({"specializations": ["Research"]})).await,
            s.actor("proofer", json!({"specializations": ["Research"]})).await,
        ];
        let mut apps = Vec::new();
        for pr in &prs {
            apps.push(s.apply(pr, &job, 500).await);
        }
        let accept = |app: &str| json!({"applicationId": app});
        s.post(&format!("/api/jobs/{job}/accept-proofer"), &p.key, accept(&apps[0]))
            .await
            .ok();
        s.post(&format!("/api/jobs/{job}/accept-proofer"), &p.key, accept(&apps[1]))
            .await
            .expect(400, "SLOTS_FULL");
        s.post(
            &format!("/api/agent/jobs/{job}/accept-application"),
            &p.key,
            accept(&apps[1]),
        )
        .await
        .expect(400, "WRONG_APPLICATION_TYPE");
        s.send(
            Method::PATCH,
            &format!("/api/jobs/{job}/proof-settings"),
            &p.key,
            |rb| rb.json(&json!({"proof_required": true, "proofer_count": 3})),
        )
        .await
        .expect(400, "PROOF_SETTINGS_LOCKED");
    }
}

#[tokio::test]
async fn conflicts_400_answers_duplicates_with_400() {
    for (choices, status) in [(&[][..], 409), (&["conflicts_400"][..], 400)] {
        let s = start_with(choosing(choices)).await;
        let reg = json!({"email": "twice@agentgigs.test", "password": "longenough"});
        assert!(matches!(
            s.post("/api/auth/register", &Auth::None, reg.clone()).await.status,
            201
        ));
        s.post("/api/auth/register", &Auth::None, reg)
            .await
            .expect(status, "EMAIL_TAKEN");
        let p = s.actor("poster", json!({})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        let job = s.job(&p, 0).await;
        s.apply(&a, &job, 5000).await;
        let body =
            json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
        s.post(&format!("/api/jobs/{job}/apply"), &a.key, body)
            .await
            .expect(status, "ALREADY_APPLIED");
    }
}

#[tokio::test]
async fn reject_others_on_hire_rejects_the_other_applicants_at_once() {
    for (choices, other_status) in [(&[][..], "pending"), (&["reject_others_on_hire"][..], "rejected")] {
        let s = start_with(choosing(choices)).await;
        let p = s.actor("poster", json!({"wallet_cents": 10_000})).await;
        let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
        let b = s.actor("agent", json!({"specializations": ["Research"]})).await;
        let job = s.job(&p, 0).await;
        let hired = s.apply(&a, &job, 5000).await;
        s.apply(&b, &job, 4000).await;
        let mut updates = open_sse(&s, &b, "?types=application.update").await;
        s.post(
            &format!("/api/agent/jobs/{job}/accept-application"),
            &p.key,
            json!({"applicationId": hired}),
        )
        .await
        .ok();
        let mine = s.get("/api/agent/applications", &b.key).await;
        assert_eq!(mine.ok()["applications"][0]["status"], other_status, "{choices:?}");
        if other_status == "rejected" {
            let ev = next_event(&mut updates).await;
            let data: Value = serde_json::from_str(&ev.data).unwrap();
            assert_eq!(data["status"], "rejected");
        } else {
            assert!(
                tokio::time::timeout(Duration::from_millis(300), updates.next())
                    .await
                    .is_err(),
                "no update before funding"
            );
        }
    }
}

#[tokio::test]
async fn every_choice_at_once_keeps_the_documented_rules() {
    let s = start_with(MockConfig::all_choices()).await;
    let p = s.actor("poster", json!({"wallet_cents": 100_000})).await;
    let a = s.actor("agent", json!({"specializations": ["Research"]})).await;
    let job = s.job(&p, 1).await;
    let body =
        json!({"message": "I can do this well and fast.", "proposed_price": 5000, "estimated_delivery": "1 day"});
    s.post(&format!("/api/jobs/{job}/apply"), &a.key, body.clone())
        .await
        .expect(403, "ACKNOWLEDGMENT_REQUIRED");
    s.post(&format!("/api/jobs/{job}/nda"), &a.key, json!(null)).await.ok();
    s.post(&format!("/api/jobs/{job}/apply"), &a.key, body).await.ok();
    // The application's id from the poster's list (upstream documents
    // `applications[].id`): the apply answer's shape is one of two
    // documented versions, and a contract naming only one prunes the other.
    let list = s.get(&format!("/api/agent/jobs/{job}/applications"), &p.key).await;
    let app = list.ok()["applications"][0]["id"].as_str().unwrap().to_string();
    for (path, body) in [
        ("accept-application", json!({"applicationId": app})),
        ("fund-escrow", json!({"applicationId": app, "useWallet": true})),
    ] {
        let prefix = if path == "accept-application" {
            "/api/agent/jobs"
        } else {
            "/api/jobs"
        };
        s.post(&format!("{prefix}/{job}/{path}"), &p.key, body).await.ok();
    }
    assert_eq!(s.balance(&p).await, 95_000, "amounts in cents");
    s.deliver(&a, &job).await;
    let r = s
        .post(&format!("/api/jobs/{job}/fund-proof-escrow"), &p.key, json!(null))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        (r.body["accepted"].as_u64(), r.body["required"].as_u64()),
        (Some(0), Some(1))
    );
    s.get("/api/nope", &a.key).await.expect(404, "err.route_not_found");
    s.get(
        "/api/wallet",
        &Auth::Headers(vec![("Authorization", "Bearer age_0123".into())]),
    )
    .await
    .expect(401, "err.api_key_in_bearer");
    let r = s.get("/api/agent/jobs/available?limit=0", &a.key).await;
    assert_eq!(r.status, 422);
    // Events still stream, over SSE and WebSocket, through the rewriting layer.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let Auth::Key(key) = &a.key else { unreachable!() };
    let mut req = format!("{}/api/agent/events", s.base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    req.headers_mut().insert("X-API-Key", key.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("upgrade");
    let mut sse = open_sse(&s, &a, "?types=job.available,nope").await;
    let r = s.post("/api/agent/jobs", &p.key, job_body()).await;
    assert_eq!(r.status, 200, "created_200");
    let created = r.body["job"]["id"].clone();
    let ev = loop {
        let ev = next_event(&mut sse).await;
        if ev.event != "ping" {
            break ev;
        }
        assert_eq!(ev.data, "", "a ping has empty data");
    };
    let data: Value = serde_json::from_str(&ev.data).unwrap();
    assert_eq!(
        (data["type"].as_str(), &data["jobId"]),
        (Some("job.available"), &created)
    );
    let text = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = ws.next().await.unwrap().unwrap() {
                break t.to_string();
            }
        }
    })
    .await
    .unwrap();
    let frame: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(frame["data"]["jobId"], created);
    s.server.state().check_invariants().unwrap();
}
