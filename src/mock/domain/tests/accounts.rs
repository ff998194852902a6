//! Accounts, keys, profiles, wallets, rate limits, NDA and browsing.

use super::*;

#[test]
fn api_keys_are_hashed_and_every_issued_key_works() {
    let mut m = mp();
    let u = m.register("a@b.io", "password1", Some("A"), "127.0.0.1").unwrap();
    let k1 = m.issue_api_key(u).unwrap();
    let k2 = m.issue_api_key(u).unwrap();
    assert_ne!(k1, k2);
    assert!(k1.starts_with("age_") && k1.len() == 36);
    assert_eq!(m.authenticate_api_key(&k1).unwrap(), u);
    assert_eq!(m.authenticate_api_key(&k2).unwrap(), u);
    assert!(!m.api_keys.contains_key(&k1), "keys are stored hashed");
    assert!(m.api_keys.contains_key(&account::sha256_hex(&k1)));
    assert_eq!(
        code(m.authenticate_api_key(&format!("age_{}", "0".repeat(32)))),
        "INVALID_API_KEY"
    );
    assert_eq!(code(m.authenticate_api_key("age_short")), "INVALID_API_KEY");
    assert_eq!(code(m.authenticate_api_key(&k1.to_uppercase())), "INVALID_API_KEY");
    assert_eq!(code(m.authenticate_api_key("eyJhbGciOi")), "INVALID_API_KEY");
}

#[test]
fn register_and_login() {
    let mut m = mp();
    let u = m.register("Me@Example.com", "password1", None, "127.0.0.1").unwrap();
    assert!(!m.user_view(u).unwrap().email_verified);
    assert_eq!(
        code(m.register("me@example.com", "password2", None, "127.0.0.1")),
        "EMAIL_TAKEN"
    );
    assert_eq!(
        code(m.register("nope", "short", None, "127.0.0.1")),
        "VALIDATION_FAILED"
    );
    assert_eq!(m.login("me@example.com", "password1", "1.1.1.1").unwrap().id, u);
    assert_eq!(
        code(m.login("me@example.com", "wrong-pass", "1.1.1.1")),
        "INVALID_CREDENTIALS"
    );
    assert_eq!(
        code(m.login("who@example.com", "password1", "1.1.1.1")),
        "INVALID_CREDENTIALS"
    );
}

#[test]
fn login_is_limited_per_ip_and_reopens() {
    let mut m = mp();
    m.register("me@example.com", "password1", None, "127.0.0.1").unwrap();
    for _ in 0..20 {
        m.login("me@example.com", "password1", "9.9.9.9").unwrap();
    }
    let e = m.login("me@example.com", "password1", "9.9.9.9").unwrap_err();
    assert_eq!(e.code(), "RATE_LIMITED");
    assert_eq!(e.retry_after(), Some(60));
    m.login("me@example.com", "password1", "8.8.8.8").unwrap();
    m.advance_clock(60);
    m.login("me@example.com", "password1", "9.9.9.9").unwrap();
}

#[test]
fn standard_limit_by_tier_and_window() {
    let mut m = mp();
    let free = actor(&mut m, ActorRole::Agent, &[], 0, Tier::Free);
    let pro = actor(&mut m, ActorRole::Agent, &[], 0, Tier::Pro);
    for _ in 0..30 {
        m.check_standard_rate(free).unwrap();
    }
    m.advance_clock(20);
    let e = m.check_standard_rate(free).unwrap_err();
    assert_eq!((e.code(), e.status(), e.retry_after()), ("RATE_LIMITED", 429, Some(40)));
    assert_eq!(e.body()["retry_after"], 40);
    for _ in 0..120 {
        m.check_standard_rate(pro).unwrap();
    }
    assert!(m.check_standard_rate(pro).is_err());
    m.advance_clock(40);
    m.check_standard_rate(free).unwrap();
}

#[test]
fn profiles_once_then_partial_updates() {
    let mut m = mp();
    let u = m.register("p@x.io", "password1", None, "127.0.0.1").unwrap();
    let body = json!({"name": "Bot", "specializations": ["Research", "Coding"], "tools": ["python"]});
    m.create_profile(u, ProfileInput::from_json(&body).unwrap()).unwrap();
    assert_eq!(
        code(m.create_profile(u, ProfileInput::from_json(&body).unwrap())),
        "PROFILE_EXISTS"
    );
    let p = m
        .update_profile(u, ProfilePatch::from_json(&json!({"bio": "hello"})).unwrap())
        .unwrap();
    assert_eq!(p.specializations, ["Research", "Coding"]);
    assert_eq!(p.bio.as_deref(), Some("hello"));
    assert_eq!(
        code(ProfileInput::from_json(
            &json!({"name": "x", "specializations": ["Cooking"]})
        )),
        "VALIDATION_FAILED"
    );
    let other = m.register("q@x.io", "password1", None, "127.0.0.1").unwrap();
    let bio = ProfilePatch {
        bio: Some("hi".into()),
        ..Default::default()
    };
    assert_eq!(code(m.update_profile(other, bio)), "NOT_FOUND");
    // A patch must change something, and never empty the specializations.
    assert_eq!(code(m.update_profile(u, ProfilePatch::default())), "VALIDATION_FAILED");
    for body in [
        json!({}),
        json!({"unknown": 1}),
        json!({"specializations": []}),
        json!({"tools": [""]}),
    ] {
        assert_eq!(code(ProfilePatch::from_json(&body)), "VALIDATION_FAILED", "{body}");
    }
    let empty = ProfilePatch {
        specializations: Some(Vec::new()),
        ..Default::default()
    };
    assert_eq!(code(m.update_profile(u, empty)), "VALIDATION_FAILED");
    assert_eq!(
        code(ProfileInput::from_json(&json!({"name": "x", "specializations": []}))),
        "VALIDATION_FAILED"
    );
}

#[test]
fn profile_answers_carry_the_account_record() {
    let mut m = mp();
    let a = agent(&mut m);
    let v = serde_json::to_value(m.profile_view(a).unwrap()).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["rating"].is_null(), v["total_reviews"].as_u64()),
        (Some(a.to_string().as_str()), true, Some(0))
    );
    m.set_user_flags(
        a,
        UserFlags {
            rating: Some(4.5),
            completed_jobs: Some(7),
            ..Default::default()
        },
    )
    .unwrap();
    let p = m
        .update_profile(
            a,
            ProfilePatch {
                bio: Some("hello".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (p.rating, p.total_reviews, p.completed_jobs, p.tier),
        (Some(4.5), 1, 7, Tier::Free)
    );
}

#[test]
fn wallet_and_deposits() {
    let mut m = mp();
    let p = poster(&mut m, 123456);
    let w = m.wallet(p).unwrap();
    assert_eq!((w.balance, w.formatted.as_str()), (123456, "$1,234.56"));
    m.deposit(p, 44).unwrap();
    assert_eq!(m.total_deposits(), 123500);
    assert_eq!(code(m.deposit(p, 0)), "VALIDATION_FAILED");
    conserved(&m);
}

#[test]
fn proofer_eligibility() {
    let mut m = mp();
    let a = agent(&mut m);
    let e = m.register_proofer(a, vec!["Research".into()]).unwrap_err();
    assert_eq!(e.code(), "PROOFER_NOT_ELIGIBLE");
    assert_eq!(e.status(), 403);
    m.set_user_flags(
        a,
        UserFlags {
            completed_jobs: Some(50),
            rating: Some(4.5),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        code(m.register_proofer(a, vec!["Research".into()])),
        "PROOFER_NOT_ELIGIBLE"
    );
    m.advance_clock(30 * 86400);
    let r = m.register_proofer(a, vec!["Research".into()]).unwrap();
    assert_eq!(r.categories, ["Research"]);
    let b = agent(&mut m);
    m.set_user_flags(
        b,
        UserFlags {
            proofer_override: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    m.register_proofer(b, vec!["Coding".into()]).unwrap();
    assert_eq!(code(m.register_proofer(b, vec!["Cooking".into()])), "VALIDATION_FAILED");
    let pr = proofer(&mut m);
    assert_eq!(m.proof_needed(pr).unwrap().registered_categories, ["Research"]);
}

#[test]
fn nda_gate_is_per_job_idempotent_and_skips_the_poster() {
    let mut m = mp();
    let p = poster(&mut m, 0);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    let job2 = post(&mut m, p, false, 0);
    assert_eq!(code(m.job_details(a, job)), "ACKNOWLEDGMENT_REQUIRED");
    assert_eq!(code(m.list_attachments(a, job)), "ACKNOWLEDGMENT_REQUIRED");
    assert_eq!(code(m.apply(a, job, apply_input(500))), "ACKNOWLEDGMENT_REQUIRED");
    assert!(!m.nda_status(a, job).unwrap().accepted);
    let first = m.acknowledge_nda(a, job).unwrap().accepted_at;
    m.advance_clock(10);
    assert_eq!(m.acknowledge_nda(a, job).unwrap().accepted_at, first);
    assert!(m.job_details(a, job).is_ok());
    assert_eq!(code(m.job_details(a, job2)), "ACKNOWLEDGMENT_REQUIRED");
    let d = m.job_details(p, job).unwrap();
    assert!(d.is_owner && d.applications.is_some());
    assert!(m.nda_status(p, job).unwrap().accepted);
    assert_eq!(code(m.job_details(a, uuid::Uuid::new_v4())), "NOT_FOUND");
}

#[test]
fn available_jobs_follow_specializations() {
    let mut m = mp();
    let p = actor(&mut m, ActorRole::Poster, &["Research"], 0, Tier::Free);
    let a = agent(&mut m);
    let coder = actor(&mut m, ActorRole::Agent, &["Coding"], 0, Tier::Free);
    let job = post(&mut m, p, false, 0);
    let mut other = new_job(false, 0);
    other.category = "Coding".into();
    other.title = "Build a scraper".into();
    m.create_job(p, other).unwrap();
    let ev = events_of(&mut m, "job.available");
    assert_eq!(
        ev.len(),
        2,
        "one to the researcher, one to the coder, none to the poster"
    );
    assert!(ev.iter().all(|e| e.recipient != p));
    assert_eq!(ev[0].payload["budget_max"], 10000);
    let list = m.list_available(a, AvailableQuery::default()).unwrap();
    assert_eq!(list.count, 1);
    assert_eq!(list.jobs[0].job.id, job);
    let s = serde_json::to_value(&list.jobs[0]).unwrap();
    assert!(s["match_score"].is_string() && s["id"].is_string() && s["budget_min"] == 1000);
    assert_eq!(m.list_available(coder, AvailableQuery::default()).unwrap().count, 1);
    assert_eq!(
        m.list_available(p, AvailableQuery::default()).unwrap().count,
        0,
        "own job hidden"
    );
    let q = |s: &str| AvailableQuery {
        search: Some(s.into()),
        ..Default::default()
    };
    assert_eq!(m.list_available(a, q("WIDGET")).unwrap().count, 1);
    assert_eq!(m.list_available(a, q("gadget")).unwrap().count, 0);
    let budget = AvailableQuery {
        min_budget: Some(20000),
        ..Default::default()
    };
    assert_eq!(m.list_available(a, budget).unwrap().count, 0);
    let bad = AvailableQuery {
        limit: Some(101),
        ..Default::default()
    };
    assert_eq!(code(m.list_available(a, bad)), "VALIDATION_FAILED");
    assert_eq!(m.list_posted(p, None, None).unwrap().count, 2);
}

#[test]
fn job_creation_validation_names_fields() {
    let tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let body = json!({"title": "", "description": "short", "category": "Cooking", "budget_min": 50, "budget_max": 10.5,
        "tags": tags, "proof_required": true});
    let DomainError::ValidationFailed { details, .. } = NewJob::from_json(&body).unwrap_err() else {
        panic!()
    };
    let fields: Vec<&str> = details.iter().map(|d| d.field.as_str()).collect();
    for f in [
        "title",
        "description",
        "category",
        "budget_min",
        "budget_max",
        "tags",
        "proofer_count",
    ] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    let ok = json!({"title": "Valid title", "description": long(25), "category": "Research", "budget_min": 100, "budget_max": 100});
    assert!(NewJob::from_json(&ok).is_ok());
    let mut swapped = ok.clone();
    swapped["budget_max"] = json!(99);
    assert!(NewJob::from_json(&swapped).is_err());
    let mut str_money = ok.clone();
    str_money["budget_min"] = json!("100");
    assert!(NewJob::from_json(&str_money).is_err());
    let mut big = ok.clone();
    big["budget_max"] = json!(10_000_001);
    assert!(NewJob::from_json(&big).is_err());
    let mut four = ok;
    four["proof_required"] = json!(true);
    four["proofer_count"] = json!(4);
    assert!(NewJob::from_json(&four).is_err());
    let mut m = mp();
    let p = poster(&mut m, 0);
    let mut bad = new_job(true, 0);
    bad.proofer_count = None;
    assert_eq!(code(m.create_job(p, bad)), "VALIDATION_FAILED");
}

#[test]
fn notifications_mirror_events() {
    let mut m = mp();
    let p = poster(&mut m, 100_000);
    let a = agent(&mut m);
    let job = post(&mut m, p, false, 0);
    hire(&mut m, p, a, job, 5000);
    let n = m.notifications(a, false, None).unwrap();
    assert_eq!(n.unread_count, 3, "job.available, accepted, funded");
    assert_eq!(n.notifications[0].kind, "application.update");
    let v = serde_json::to_value(&n).unwrap();
    assert!(v["unreadCount"].is_number() && v["notifications"][0]["link"].is_string());
    m.mark_notifications_read(a).unwrap();
    assert_eq!(m.notifications(a, true, None).unwrap().notifications.len(), 0);
}
