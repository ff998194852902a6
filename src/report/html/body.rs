//! The HTML views of bodies: JSON pretty-printed as escaped HTML with the
//! findings' and the departures' pointers marked (apart), and base64 for
//! the CSP script hash.
//! Pure string building; every piece of data is escaped.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use super::escape;
use crate::report::text::compact;

/// The pointer itself if the body has it, else its deepest existing
/// ancestor (a missing key marks the object that lacks it).
pub(super) fn deepest_existing(body: &Value, pointer: &str) -> String {
    let mut p = pointer;
    loop {
        if body.pointer(p).is_some() || p.is_empty() {
            return p.to_string();
        }
        p = crate::report::text::pointer_parent(p);
    }
}

/// The JSON pointers to mark in a body: where the findings are, and where
/// the departures from the reference server are (marked apart).
#[derive(Debug, Default)]
pub(super) struct Marks {
    pub findings: BTreeSet<String>,
    pub departures: BTreeSet<String>,
}

impl Marks {
    fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.departures.is_empty()
    }
}

pub(super) fn body(out: &mut String, v: &Value, marks: &Marks) {
    out.push_str("<pre class=\"body\">");
    match v {
        Value::String(s) if marks.is_empty() => out.push_str(&escape(s)),
        _ => {
            let mut path = String::new();
            json_html(v, &mut path, marks, 0, out);
        }
    }
    out.push_str("</pre>");
}

/// Pretty-prints JSON as escaped HTML with syntax classes, wrapping the
/// values at the findings' pointers in `<mark class="hit">` and those at
/// the departures' pointers in `<mark class="hit dep">`.
fn json_html(v: &Value, path: &mut String, marks: &Marks, depth: usize, out: &mut String) {
    let mark = if marks.findings.contains(path.as_str()) {
        Some(("hit", "finding"))
    } else if marks.departures.contains(path.as_str()) {
        Some(("hit dep", "departs from the reference server"))
    } else {
        None
    };
    let marked = mark.is_some();
    if let Some((class, what)) = mark {
        let _ = write!(
            out,
            "<mark class=\"{class}\" title=\"{what} at {}\">",
            escape(if path.is_empty() { "(root)" } else { path })
        );
    }
    let pad = "  ".repeat(depth + 1);
    let end_pad = "  ".repeat(depth);
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push_str("{\n");
            for (i, (k, child)) in map.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                let _ = write!(
                    out,
                    "{pad}<span class=\"k\">{}</span>: ",
                    escape(&compact(&Value::String(k.clone())))
                );
                json_html(child, path, marks, depth + 1, out);
                path.truncate(len);
                out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{end_pad}}}");
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                let _ = write!(path, "/{i}");
                out.push_str(&pad);
                json_html(child, path, marks, depth + 1, out);
                path.truncate(len);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            let _ = write!(out, "{end_pad}]");
        }
        Value::String(_) => {
            let _ = write!(out, "<span class=\"s\">{}</span>", escape(&compact(v)));
        }
        Value::Number(_) => {
            let _ = write!(out, "<span class=\"n\">{}</span>", escape(&compact(v)));
        }
        _ => {
            let _ = write!(out, "<span class=\"b\">{}</span>", escape(&compact(v)));
        }
    }
    if marked {
        out.push_str("</mark>");
    }
}

/// Standard base64 with padding (for the CSP script hash).
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn marks_the_pointer_or_its_parent() {
        let body = serde_json::json!({"job": {"id": 1}, "x": "<b>"});
        assert_eq!(deepest_existing(&body, "/job/id"), "/job/id");
        assert_eq!(deepest_existing(&body, "/job/missing"), "/job");
        let marks = Marks {
            findings: BTreeSet::from(["/job/id".to_string()]),
            departures: BTreeSet::from(["/x".to_string(), "/job/id".to_string()]),
        };
        let mut out = String::new();
        json_html(&body, &mut String::new(), &marks, 0, &mut out);
        assert!(out.contains("<mark class=\"hit\" title=\"finding at /job/id\"><span class=\"n\">1</span></mark>"));
        assert!(out.contains(
            "<mark class=\"hit dep\" title=\"departs from the reference server at /x\"><span class=\"s\">&quot;&lt;b&gt;&quot;</span></mark>"
        ));
        assert!(out.contains("&lt;b&gt;"));
    }
}
