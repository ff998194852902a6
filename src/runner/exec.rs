//! One HTTP exchange: build the request from a [`Prepared`] description
//! (rebuildable, for retries and repeats), send it under a time limit,
//! and read the body as a stream up to a size cap. It must not check
//! responses, pace or retry (the steps do).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::RunnerError;
use crate::target::{Capped, describe_error, read_capped};

/// A body to send.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    None,
    Json(Value),
    /// Raw bytes with an optional content type.
    /// `bytes` is reference-counted: a rebuild (retry, repeat) does not copy a large body.
    Raw {
        bytes: axum::body::Bytes,
        content_type: Option<String>,
        shown: Value,
    },
    /// `size` bytes of `x`, streamed in chunks with a `Content-Length`
    /// (never held in memory whole: tens of MB for size-limit scenarios).
    Filler {
        size: usize,
        content_type: Option<String>,
        shown: Value,
    },
    Multipart {
        field: String,
        filename: String,
        content: String,
        content_type: Option<String>,
        fields: Vec<(String, String)>,
    },
}

/// A request, fully interpolated.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub method: reqwest::Method,
    pub url: url::Url,
    /// The concrete path relative to the API root (for the spec and money).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// Adds `Content-Type: ct` unless the step's headers already set one.
fn content_type_unless_set(rb: reqwest::RequestBuilder, ct: &Option<String>, already: bool) -> reqwest::RequestBuilder {
    match ct {
        Some(ct) if !already => rb.header("Content-Type", ct.as_str()),
        _ => rb,
    }
}

/// `size` bytes of `x` in chunks of 64 KiB that all share one buffer.
fn filler(size: usize) -> impl futures::Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Send + 'static {
    const CHUNK: usize = 64 * 1024;
    static BLOCK: std::sync::LazyLock<axum::body::Bytes> =
        std::sync::LazyLock::new(|| axum::body::Bytes::from(vec![b'x'; CHUNK]));
    let chunks = size.div_ceil(CHUNK);
    futures::stream::iter((0..chunks).map(move |i| {
        let len = CHUNK.min(size - i * CHUNK);
        Ok(BLOCK.slice(..len))
    }))
}

impl Prepared {
    fn build(&self, client: &reqwest::Client, timeout: Duration) -> Result<reqwest::RequestBuilder, RunnerError> {
        let mut rb = client.request(self.method.clone(), self.url.clone()).timeout(timeout);
        let has = |name: &str| self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        for (k, v) in &self.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        rb = match &self.body {
            Body::None => rb,
            Body::Json(v) => {
                let bytes = serde_json::to_vec(v).map_err(|e| RunnerError::BadRequest(e.to_string()))?;
                if !has("content-type") {
                    rb = rb.header("Content-Type", "application/json");
                }
                rb.body(bytes)
            }
            Body::Raw {
                bytes, content_type, ..
            } => content_type_unless_set(rb, content_type, has("content-type")).body(bytes.clone()),
            Body::Filler { size, content_type, .. } => content_type_unless_set(rb, content_type, has("content-type"))
                .header("Content-Length", size.to_string())
                .body(reqwest::Body::wrap_stream(filler(*size))),
            Body::Multipart {
                field,
                filename,
                content,
                content_type,
                fields,
            } => {
                let mut part = reqwest::multipart::Part::text(content.clone()).file_name(filename.clone());
                if let Some(ct) = content_type {
                    part = part
                        .mime_str(ct)
                        .map_err(|e| RunnerError::BadRequest(format!("multipart content type `{ct}`: {e}")))?;
                }
                let mut form = reqwest::multipart::Form::new();
                for (k, v) in fields {
                    form = form.text(k.clone(), v.clone());
                }
                rb.multipart(form.part(field.clone(), part))
            }
        };
        Ok(rb)
    }

    /// The body as recorded (JSON, or a description).
    pub fn shown_body(&self) -> Option<Value> {
        match &self.body {
            Body::None => None,
            Body::Json(v) => Some(v.clone()),
            Body::Raw { shown, .. } | Body::Filler { shown, .. } => Some(shown.clone()),
            Body::Multipart {
                field,
                filename,
                content,
                content_type,
                fields,
            } => Some(serde_json::json!({
                "multipart": {
                    "field": field,
                    "filename": filename,
                    "content_type": content_type,
                    "content": super::record::truncate_text(content, 2048),
                    "fields": fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>(),
                }
            })),
        }
    }
}

/// A response, read.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub status: u16,
    /// Names lower-case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub elapsed: Duration,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
}

/// Names and values of a response's headers (non-UTF-8 values lossily).
pub(crate) fn header_list(map: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Sends once and reads the whole body (at most `max_body` bytes), all
/// within `limit`; `limit_label` says which limit it is in the error.
pub(crate) async fn send(
    client: &reqwest::Client,
    req: &Prepared,
    limit: Duration,
    limit_label: &str,
    max_body: usize,
) -> Result<Received, RunnerError> {
    let started = Instant::now();
    let rb = req.build(client, limit)?;
    let transport = |e: &reqwest::Error, what: &str| {
        if e.is_timeout() {
            RunnerError::Timeout(format!(
                "`{} {}` timed out: no complete answer within {} ({limit_label})",
                req.method,
                req.url,
                human(limit)
            ))
        } else {
            RunnerError::Transport {
                what: what.to_string(),
                method: req.method.to_string(),
                url: req.url.to_string(),
                message: describe_error(e),
            }
        }
    };
    let work = async {
        let resp = rb.send().await.map_err(|e| transport(&e, "cannot send"))?;
        let status = resp.status().as_u16();
        let headers = header_list(resp.headers());
        let body = read_capped(resp, max_body).await.map_err(|e| match e {
            Capped::TooLarge => RunnerError::BodyTooLarge { limit: max_body },
            Capped::Broken(e) => transport(&e, "cannot read the body of"),
        })?;
        Ok(Received {
            status,
            headers,
            body,
            elapsed: started.elapsed(),
        })
    };
    match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(RunnerError::Timeout(format!(
            "`{} {}` timed out: no complete answer within {} ({limit_label})",
            req.method,
            req.url,
            human(limit)
        ))),
    }
}

/// A duration for messages: `10 s`, `250 ms`.
pub(crate) fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 && secs.is_multiple_of(60) {
        let (h, m) = (secs / 3600, secs % 3600 / 60);
        if m == 0 {
            format!("{h} h")
        } else {
            format!("{h} h {m} min")
        }
    } else if secs >= 300 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else if secs >= 300 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else if d.as_millis().is_multiple_of(1000) && secs > 0 {
        format!("{secs} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}
