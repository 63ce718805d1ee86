//! What every answer of the Elasticsearch routes carries: the
//! `X-Elastic-Product: Elasticsearch` header, without which Elastic's
//! clients (8.x and later) refuse to talk to a server, and, when the
//! request used Elastic's versioned media type
//! (`application/vnd.elasticsearch+x-ndjson; compatible-with=8`, sent by
//! Elastic's clients), a JSON answer in the matching
//! `application/vnd.elasticsearch+json; compatible-with=N`.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The `compatible-with` version a request asked for, from its `Accept`
/// or `Content-Type`.
fn compatible_with(headers: &HeaderMap) -> Option<u8> {
    [header::ACCEPT, header::CONTENT_TYPE]
        .iter()
        .filter_map(|h| headers.get(h)?.to_str().ok())
        .filter(|v| v.to_ascii_lowercase().contains("application/vnd.elasticsearch+"))
        .find_map(|v| {
            v.split(';').find_map(|p| {
                let (k, n) = p.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("compatible-with"))
                    .then(|| n.trim().parse().ok())
                    .flatten()
            })
        })
}

pub async fn elastic_headers(req: Request, next: Next) -> Response {
    let version = compatible_with(req.headers());
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert("x-elastic-product", HeaderValue::from_static("Elasticsearch"));
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if let Some(n) = version
        && is_json
        && let Ok(v) = HeaderValue::from_str(&format!(
            "application/vnd.elasticsearch+json; compatible-with={n}"
        ))
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_media_types() {
        let mut h = HeaderMap::new();
        assert_eq!(compatible_with(&h), None);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        assert_eq!(compatible_with(&h), None);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.elasticsearch+x-ndjson; compatible-with=8"),
        );
        assert_eq!(compatible_with(&h), Some(8));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/vnd.elasticsearch+json;compatible-with=9"),
        );
        assert_eq!(compatible_with(&h), Some(9));
    }
}
