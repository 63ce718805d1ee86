//! The static files of the UI (CSS, JavaScript, vendored uPlot), compiled
//! into the binary so Belfry works offline and loads nothing from
//! elsewhere. Pages link them with `?v=` and the build's asset version, so
//! a browser may keep those for a year and still never runs an old script
//! against a new page; a module one script imports from another has no
//! `?v=`, and is revalidated by its ETag instead.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

#[derive(RustEmbed)]
#[folder = "web/static/"]
struct Static;

/// A short hash over every embedded file: what `?v=` carries.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut names: Vec<_> = Static::iter().collect();
        names.sort();
        let mut h = Sha256::new();
        for name in names {
            if let Some(file) = Static::get(&name) {
                h.update(name.as_bytes());
                h.update(file.metadata.sha256_hash());
            }
        }
        h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
    })
}

/// The URLs of the embedded JavaScript modules under any of `prefixes`,
/// sorted: what a page names in `<link rel="modulepreload">`, so the
/// browser fetches a module graph at once instead of level by level.
pub fn modules(prefixes: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Static::iter()
        .filter(|name| name.ends_with(".js") && prefixes.iter().any(|p| name.starts_with(p)))
        .map(|name| format!("/static/{name}"))
        .collect();
    out.sort();
    out
}

/// `GET /static/{*path}`.
pub async fn serve(Path(path): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(file) = Static::get(&path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let etag = format!(
        "\"{}\"",
        file.metadata
            .sha256_hash()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, content_type(&path))],
            file.data.into_owned(),
        )
            .into_response()
    };
    let versioned = uri.query().is_some_and(|q| {
        q.split('&')
            .any(|pair| pair.strip_prefix("v=") == Some(version()))
    });
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The few kinds of file `web/static/` holds; anything else is served as
/// bytes, which `nosniff` keeps a browser from running.
fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        // LICENSE, VERSION: the vendored files' notes.
        return "text/plain; charset=utf-8";
    };
    match ext {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_file_has_a_known_type() {
        for name in Static::iter() {
            assert_ne!(
                content_type(&name),
                "application/octet-stream",
                "{name} would be served without a type"
            );
        }
    }

    #[test]
    fn modules_are_listed_by_prefix() {
        let dashboard = modules(&["js/dashboard/", "vendor/uplot/"]);
        assert!(dashboard.contains(&"/static/js/dashboard/main.js".to_string()));
        assert!(dashboard.contains(&"/static/vendor/uplot/uPlot.esm.js".to_string()));
        assert!(!dashboard.iter().any(|m| m.ends_with("/app.js")));
    }

    #[test]
    fn the_version_is_stable_and_short() {
        assert_eq!(version(), version());
        assert_eq!(version().len(), 12);
    }
}
