//! Reading an answer's body under a size cap, and telling JSON media
//! types apart: the one capped HTTP read of the crate, shared by the
//! fuzzer and the scenario runner (`runner::exec` re-exports it), so a
//! hostile target cannot exhaust memory through either.
//!
//! It lives here rather than in `runner` because the runner's `exec`
//! module is private to the runner; it depends on nothing but `reqwest`.

use futures::StreamExt;

/// Why a body could not be read whole.
pub(crate) enum Capped {
    /// The body is larger than the cap (announced by `Content-Length`, or
    /// found while streaming); the rest is not read.
    TooLarge,
    /// The connection failed while the body was read.
    Broken(reqwest::Error),
}

/// Reads a body as a stream, stopping as soon as it passes `max` bytes.
pub(crate) async fn read_capped(resp: reqwest::Response, max: usize) -> Result<Vec<u8>, Capped> {
    if resp.content_length().is_some_and(|len| len > max as u64) {
        return Err(Capped::TooLarge);
    }
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Capped::Broken)?;
        if body.len() + chunk.len() > max {
            return Err(Capped::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The words of a transport problem for a body over the cap.
pub fn too_large(max: usize) -> String {
    format!("the answer is larger than {max} bytes; not read")
}

/// A JSON media type: `application/json`, `application/problem+json`,
/// `text/json` (parameters and case ignored).
pub fn is_json(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some((_, sub)) = media.split_once('/') else {
        return false;
    };
    sub == "json" || sub.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: Vec<u8>, announce: bool) -> reqwest::Response {
        let len = body.len();
        let mut builder = axum::http::Response::builder().status(200);
        if announce {
            builder = builder.header("content-length", len.to_string());
        }
        let stream = futures::stream::iter(
            body.chunks(1000)
                .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        reqwest::Response::from(builder.body(reqwest::Body::wrap_stream(stream)).unwrap())
    }

    #[tokio::test]
    async fn the_cap_holds_with_and_without_a_length() {
        for announce in [true, false] {
            let ok = read_capped(response(vec![b'x'; 5000], announce), 5000).await;
            assert_eq!(ok.ok().map(|b| b.len()), Some(5000));
            let over = read_capped(response(vec![b'x'; 5001], announce), 5000).await;
            assert!(matches!(over, Err(Capped::TooLarge)));
        }
        assert_eq!(too_large(10), "the answer is larger than 10 bytes; not read");
    }

    #[test]
    fn json_media_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(is_json("text/json"));
        assert!(!is_json("text/event-stream"));
        assert!(!is_json("multipart/form-data"));
        assert!(!is_json("json"));
    }
}
