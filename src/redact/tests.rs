//! Unit tests for redaction.

use serde_json::json;

use super::*;

const KEY: &str = "age_0123456789abcdef0123456789abcdef";
const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

#[test]
fn known_secrets_get_their_labels() {
    let s = Secrets::new();
    s.add("API_KEY:poster", KEY);
    s.add("PASSWORD:poster", "hunter2 & co");
    let out = s.redact_str(&format!("key={KEY} pw=hunter2 & co"));
    assert_eq!(out, "key=[API_KEY:poster] pw=[PASSWORD:poster]");
    // Percent-encoded and JSON-escaped forms too.
    assert_eq!(s.redact_str("pw=hunter2+%26+co"), "pw=[PASSWORD:poster]");
    s.add("PASSWORD:agent", "a\"quoted pw");
    assert_eq!(s.redact_str(r#"{"p":"a\"quoted pw"}"#), r#"{"p":"[PASSWORD:agent]"}"#);
}

#[test]
fn shapes_are_redacted_without_registration() {
    let s = Secrets::new();
    let out = s.redact_str(&format!("{KEY} and Bearer {JWT}"));
    assert_eq!(out, "[API_KEY] and Bearer [JWT]");
}

#[test]
fn short_values_are_ignored() {
    let s = Secrets::new();
    s.add("X", "ab");
    s.add("PASSWORD:x", "short");
    assert_eq!(
        s.redact_str("abc, a password shorter than 8"),
        "abc, a password shorter than 8"
    );
    assert!(s.is_empty());
}

#[test]
fn json_and_sensitive_keys() {
    let s = Secrets::new();
    s.add("API_KEY:agent", KEY);
    let v = json!({"api_key": "whatever-value", "nested": [KEY, {"password": "p4ssw0rd!"}], "n": 3});
    let r = s.redact_json(&v);
    assert_eq!(
        r,
        json!({"api_key": "[REDACTED]", "nested": ["[API_KEY:agent]", {"password": "[REDACTED]"}], "n": 3})
    );
    let r = s.redact_json(&json!({"api_key": KEY}));
    assert_eq!(r, json!({"api_key": "[API_KEY:agent]"}));
}

#[test]
fn headers_are_always_redacted() {
    let s = Secrets::new();
    s.add("JWT:poster", JWT);
    assert_eq!(
        s.redact_header("Authorization", &format!("Bearer {JWT}")),
        "Bearer [JWT:poster]"
    );
    assert_eq!(s.redact_header("authorization", "Bearer garbage"), "Bearer [REDACTED]");
    assert_eq!(s.redact_header("X-API-Key", "not-a-key"), "[REDACTED]");
    assert_eq!(s.redact_header("X-Conformance-Token", "tok"), "[REDACTED]");
    assert_eq!(s.redact_header("Cookie", "a=b"), "[REDACTED]");
    assert_eq!(s.redact_header("content-type", "application/json"), "application/json");
}

#[test]
fn scan_files_finds_leaks() {
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.json");
    let leak = dir.path().join("sub").join("leak.txt");
    std::fs::create_dir_all(leak.parent().unwrap()).unwrap();
    std::fs::write(&clean, "[API_KEY:poster]").unwrap();
    std::fs::write(&leak, format!("oops {KEY}")).unwrap();
    let s = Secrets::new();
    s.add("API_KEY:poster", KEY);
    let found = s.scan_files(&[dir.path()]).unwrap();
    assert_eq!(found, vec![leak]);
}

#[test]
fn clones_share_the_registry_across_threads() {
    let s = Secrets::new();
    let c = s.clone();
    std::thread::spawn(move || c.add("TOKEN", "control-token-123"))
        .join()
        .unwrap();
    assert_eq!(s.redact_str("x control-token-123 y"), "x [TOKEN] y");
    assert!(!format!("{s:?}").contains("control-token"));
}

#[test]
fn secrets_cut_by_truncation_are_redacted_too() {
    let s = Secrets::new();
    s.add("API_KEY:poster", KEY);
    s.add("PASSWORD:poster", "correct horse battery staple");
    // Cut by `brief` (`...`), `shown` and our records (`…`).
    assert_eq!(
        s.redact_str(&format!("is \"{}...", &KEY[..20])),
        "is \"[API_KEY:poster]..."
    );
    assert_eq!(
        s.redact_str("x correct horse b… (truncated, 900 bytes in all)"),
        "x [PASSWORD:poster]… (truncated, 900 bytes in all)"
    );
    // Too short a head, or no mark: left alone.
    assert_eq!(s.redact_str("the age..."), "the age...");
    assert_eq!(s.redact_str("correct horse is a phrase"), "correct horse is a phrase");
}

#[test]
fn url_encoded_forms_are_redacted() {
    let s = Secrets::new();
    s.add("PASSWORD:poster", "p@ss w/rd?&#x");
    let mut u = url::Url::parse("http://h/api/things").unwrap();
    u.path_segments_mut().unwrap().push("p@ss w/rd?&#x");
    u.query_pairs_mut().append_pair("pw", "p@ss w/rd?&#x");
    let shown = s.redact_str(u.as_str());
    assert_eq!(shown, "http://h/api/things/[PASSWORD:poster]?pw=[PASSWORD:poster]");
    let mut u = url::Url::parse("http://h/").unwrap();
    u.set_query(Some("k=p@ss w/rd?&#x"));
    assert!(
        !s.redact_str(u.as_str()).contains("w/rd"),
        "{}",
        s.redact_str(u.as_str())
    );
    assert!(s.contains_secret(u.as_str()));
    assert_eq!(s.find_secret(u.as_str()).as_deref(), Some("[PASSWORD:poster]"));
}

#[test]
fn header_names_are_redacted() {
    let s = Secrets::new();
    s.add("API_KEY:poster", KEY);
    let h = s.redact_headers(&[(format!("x-echo-{KEY}"), "1".into())]);
    assert_eq!(h, vec![("x-echo-[API_KEY:poster]".to_string(), "1".to_string())]);
}

#[test]
fn interleaved_registrations_stay_found_across_levels() {
    let s = Secrets::new();
    let value = |i: usize| format!("secret-value-{i:04}-{}", "x".repeat(i % 7));
    for i in 0..300 {
        s.add(&format!("S:{i}"), &value(i));
        // A lookup after each registration settles a new level.
        assert_eq!(s.redact_str(&format!("<{}>", value(i))), format!("<[S:{i}]>"));
    }
    // Every earlier secret is still found, whatever level it ended in.
    for i in (0..300).step_by(37) {
        assert!(s.contains_secret(&format!("..{}..", value(i))));
        assert_eq!(s.redact_str(&value(i)), format!("[S:{i}]"));
    }
    let levels = s.inner.read().levels.len();
    assert!(levels <= 12, "levels are merged: {levels}");
}

#[test]
fn a_secret_inside_a_longer_one_never_splits_it() {
    let s = Secrets::new();
    s.add("SHORT", "inner-part");
    assert_eq!(s.redact_str("inner-part"), "[SHORT]");
    // Registered later, so in another level: still replaced whole.
    s.add("LONG", "outer-inner-part-outer");
    assert_eq!(
        s.redact_str("a outer-inner-part-outer b inner-part"),
        "a [LONG] b [SHORT]"
    );
}

#[test]
fn scan_files_finds_a_secret_across_chunk_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let s = Secrets::new();
    s.add("API_KEY:poster", KEY);
    s.add("PASSWORD:poster", "pässwörd-ünïcode");
    let mut planted = Vec::new();
    // The secret starts around the first and second chunk ends, or spans them.
    for (n, secret) in [KEY, "pässwörd-ünïcode"].into_iter().enumerate() {
        let len = secret.len();
        for shift in [0, 1, 2, 3, len / 2, len - 1, len, len + 1] {
            for chunk in [SCAN_CHUNK, 2 * SCAN_CHUNK] {
                let mut bytes = vec![b'x'; chunk + 1 - shift];
                bytes.extend_from_slice(secret.as_bytes());
                bytes.extend_from_slice(b"tail");
                let path = dir.path().join(format!("leak-{n}-{shift}-{chunk}.txt"));
                std::fs::write(&path, bytes).unwrap();
                planted.push(path);
            }
        }
    }
    // Invalid UTF-8 and multi-byte characters cut at chunk ends do not hide it.
    let mut odd = vec![0xff_u8; SCAN_CHUNK - 1];
    odd.extend_from_slice("é".as_bytes());
    odd.extend_from_slice(KEY.as_bytes());
    let odd_path = dir.path().join("odd.bin");
    std::fs::write(&odd_path, odd).unwrap();
    planted.push(odd_path);
    // Near misses stay clean: the key cut at the chunk end, the rest far away.
    let mut near = vec![b'x'; SCAN_CHUNK - 10];
    near.extend_from_slice(&KEY.as_bytes()[..10]);
    near.extend_from_slice(&vec![b'y'; SCAN_CHUNK]);
    near.extend_from_slice(&KEY.as_bytes()[10..]);
    let clean = dir.path().join("near.txt");
    std::fs::write(&clean, near).unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "").unwrap();

    let mut found = s.scan_files(&[dir.path()]).unwrap();
    found.sort();
    planted.sort();
    assert_eq!(found, planted);
    assert!(s.scan_files(&[&clean, &empty]).unwrap().is_empty());
}
