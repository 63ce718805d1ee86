//! What a web page in the user's browser cannot make Belfry do. Belfry
//! listens on loopback without accounts, so any page the user opens can
//! send it requests; this layer, in front of every route, refuses:
//!
//! - requests addressed (`Host`) to a name that is not Belfry's: a page
//!   that rebinds its own DNS name to 127.0.0.1 (DNS rebinding) would
//!   otherwise read every answer as same-origin;
//! - state-changing requests (any method but GET, HEAD, OPTIONS, except
//!   the read-only query routes) sent from another site: a foreign
//!   `Origin`, or `Sec-Fetch-Site` other than `same-origin`/`none`;
//! - state-changing requests with a body type an HTML form can send
//!   without the browser asking first (`application/x-www-form-urlencoded`,
//!   `multipart/form-data`, `text/plain`), where the route takes another:
//!   JSON for alerts and silences, protobuf for remote write.
//!
//! Routes are state-changing unless listed as read-only here, so a route
//! added later is guarded without anyone remembering to.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::selfmetrics::{CounterVec, Registry};

use super::error::ApiError;
use super::state::AppState;

/// POST routes that only read: Grafana and other clients send queries as
/// form bodies, which must keep working.
const READ_ONLY_POSTS: &[&str] = &[
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/query_exemplars",
    "/api/v1/format_query",
    "/api/v1/parse_query",
    "/api/v1/series",
    "/api/v1/labels",
];

/// The body type a state-changing route requires, as the clients that
/// call it send it (Prometheus's notifier and `amtool` send JSON,
/// Prometheus's remote write sends protobuf).
fn required_media_type(path: &str) -> Option<&'static str> {
    match path {
        "/api/v2/alerts" | "/api/v2/silences" => Some("application/json"),
        "/api/v1/write" => Some("application/x-protobuf"),
        _ => None,
    }
}

/// Which requests the guard lets through: the names Belfry answers to.
/// The default knows only loopback names.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    listen: SocketAddr,
    /// Lower-cased host names from `server.allowed_hosts` and
    /// `server.external_url`.
    extra_hosts: Vec<String>,
    /// `server.external_url`'s origin, lower-cased.
    external_origin: Option<String>,
}

impl Default for HostPolicy {
    fn default() -> Self {
        HostPolicy::new(SocketAddr::from(([127, 0, 0, 1], 0)), Vec::new(), None)
    }
}

impl HostPolicy {
    pub fn new(listen: SocketAddr, extra_hosts: Vec<String>, external_origin: Option<String>) -> Self {
        HostPolicy {
            listen,
            extra_hosts,
            external_origin,
        }
    }

    /// Loopback names and addresses, the listen address and the
    /// configured names; the port is not compared (a proxy may forward
    /// from another one).
    pub fn allows_host(&self, authority: &str) -> bool {
        let name = host_name(authority).to_ascii_lowercase();
        if name == "localhost" {
            return true;
        }
        if let Ok(ip) = name.parse::<IpAddr>()
            && (ip.is_loopback() || ip == self.listen.ip())
        {
            return true;
        }
        self.extra_hosts.contains(&name)
    }

    /// An `Origin` is Belfry's own when it names the host the request was
    /// sent to (scheme aside: Belfry serves plain HTTP, a TLS proxy may
    /// front it) or `server.external_url`'s origin.
    fn allows_origin(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        if self.external_origin.as_deref() == Some(origin.as_str()) {
            return true;
        }
        let Some(authority) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            // `null` (sandboxed frames, file: pages) and other schemes.
            return false;
        };
        host.is_some_and(|h| h.eq_ignore_ascii_case(authority) && self.allows_host(authority))
    }
}

/// The host part of `host[:port]` or `[v6]:port`.
fn host_name(authority: &str) -> &str {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// The policy and the counter of what it refused.
pub struct Guard {
    pub policy: HostPolicy,
    refused: Arc<CounterVec>,
}

impl Guard {
    pub fn new(policy: HostPolicy, registry: &Registry) -> Self {
        Guard {
            policy,
            refused: registry.counter_vec(
                "belfry_http_requests_refused_total",
                "Requests refused before reaching a handler because a web page could have sent them: \
                 reason is host (not a name Belfry answers to), origin (sent from another site) or \
                 content_type (a form-sendable body on a route that takes another type).",
                &["reason"],
            ),
        }
    }
}

/// Why a request was refused; the message names what to configure.
#[derive(Debug)]
enum Refusal {
    Host(String),
    Origin(String),
    ContentType(String),
}

impl Refusal {
    fn reason(&self) -> &'static str {
        match self {
            Refusal::Host(_) => "host",
            Refusal::Origin(_) => "origin",
            Refusal::ContentType(_) => "content_type",
        }
    }

    fn into_error(self) -> ApiError {
        match self {
            Refusal::Host(m) | Refusal::Origin(m) => ApiError::Forbidden(m),
            Refusal::ContentType(m) => ApiError::UnsupportedMediaType(m),
        }
    }
}

/// The layer: checks, counts and refuses, or passes the request on.
pub async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Err(refusal) = check(&state.guard.policy, req.method(), req.uri(), req.headers()) {
        state.guard.refused.with(&[refusal.reason()]).inc();
        tracing::warn!(reason = refusal.reason(), method = %req.method(), path = req.uri().path(), "request refused");
        return refusal.into_error().into_response();
    }
    next.run(req).await
}

fn check(
    policy: &HostPolicy,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    // HTTP/2 carries the authority in the URI instead of `Host`.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    // A request without any `Host` (HTTP/1.0) cannot come from a browser,
    // which always sends one, so it is not a rebinding attempt.
    if let Some(h) = host
        && !policy.allows_host(h)
    {
        return Err(Refusal::Host(format!(
            "host {h:?} is not a name this server answers to: requests must be addressed to localhost, \
             a loopback address or the listen address {} (a page elsewhere could otherwise reach it by \
             DNS rebinding); to serve it under this name, add the name to server.allowed_hosts or set \
             server.external_url",
            policy.listen
        )));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let path = uri.path();
    if READ_ONLY_POSTS.contains(&path) {
        return Ok(());
    }
    check_site(policy, method, path, host, headers)?;
    check_content_type(method, path, headers)
}

fn check_site(
    policy: &HostPolicy,
    method: &Method,
    path: &str,
    host: Option<&str>,
    headers: &HeaderMap,
) -> Result<(), Refusal> {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let trusted_origin = origin.is_some_and(|o| policy.allows_origin(o, host));
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site
        && !matches!(site, "same-origin" | "none")
        && !trusted_origin
    {
        return Err(Refusal::Origin(format!(
            "{method} {path} refused: the browser says it was sent from another site \
             (Sec-Fetch-Site: {site}); state-changing requests are taken only from Belfry's own \
             pages or from non-browser clients (set server.external_url if Belfry is served under \
             another address)"
        )));
    }
    if let Some(o) = origin
        && !trusted_origin
    {
        return Err(Refusal::Origin(format!(
            "{method} {path} refused: Origin {o:?} is not this server's origin; state-changing \
             requests are taken only from Belfry's own pages or from non-browser clients (set \
             server.external_url if Belfry is served under another address)"
        )));
    }
    Ok(())
}

/// The media type (lower-cased, without parameters) of a body.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Body types an HTML form (or a script without asking the server first)
/// can send cross-site.
fn form_sendable(media: &str) -> bool {
    matches!(
        media,
        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
    )
}

/// The login page's form posts here before any script runs; the
/// cross-site check still applies to it.
const FORM_ROUTES: &[&str] = &["/api/belfry/login"];

fn check_content_type(method: &Method, path: &str, headers: &HeaderMap) -> Result<(), Refusal> {
    if FORM_ROUTES.contains(&path) {
        return Ok(());
    }
    let media = media_type(headers);
    if let Some(required) = required_media_type(path) {
        if media.as_deref() == Some(required) {
            return Ok(());
        }
        let sent = media.as_deref().unwrap_or("none");
        return Err(Refusal::ContentType(format!(
            "{method} {path} takes Content-Type: {required}, got {sent}"
        )));
    }
    let Some(media) = media else {
        return Ok(());
    };
    // The text format's own type is `text/plain; version=0.0.4`, so text
    // push takes it; form bodies never.
    let text_route = path == "/api/v1/import/prometheus";
    let allowed = if text_route {
        media != "application/x-www-form-urlencoded" && media != "multipart/form-data"
    } else {
        !form_sendable(&media)
    };
    if allowed {
        return Ok(());
    }
    let hint = if text_route {
        " (send the text format as text/plain, e.g. curl -H 'Content-Type: text/plain' --data-binary @file)"
    } else {
        log_shipper_hint(path).unwrap_or_default()
    };
    Err(Refusal::ContentType(format!(
        "{method} {path} does not take a form body (Content-Type: {media}){hint}"
    )))
}

/// The body types the log ingest routes take, named when a form type is
/// refused there. Shippers send these types themselves (none is
/// form-sendable); curl's `--data-binary` sends a form type unless told
/// otherwise, so the hint shows how.
fn log_shipper_hint(path: &str) -> Option<&'static str> {
    if path == "/api/belfry/logs" {
        return Some(
            " (send NDJSON as application/x-ndjson, e.g. curl -H 'Content-Type: application/x-ndjson' --data-binary @file)",
        );
    }
    if path == "/loki/api/v1/push" {
        return Some(" (Loki push takes application/json or snappy protobuf as application/x-protobuf)");
    }
    if path == "/v1/logs" {
        return Some(" (OTLP/HTTP takes application/x-protobuf or application/json)");
    }
    if path.ends_with("/_bulk") {
        return Some(
            " (the bulk API takes application/x-ndjson, application/json or application/vnd.elasticsearch+x-ndjson)",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HostPolicy {
        HostPolicy::new(
            "127.0.0.1:9900".parse().unwrap(),
            vec!["belfry.example.org".into()],
            Some("https://belfry.example.org".into()),
        )
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    fn run(method: Method, path: &str, pairs: &[(&'static str, &str)]) -> Result<(), &'static str> {
        check(&policy(), &method, &path.parse().unwrap(), &headers(pairs)).map_err(|r| r.reason())
    }

    #[test]
    fn host_names_belfry_answers_to() {
        let p = policy();
        for ok in [
            "localhost",
            "LOCALHOST:9900",
            "127.0.0.1",
            "127.0.0.1:9900",
            "127.0.0.2:1",
            "[::1]:9900",
            "[::1]",
            "belfry.example.org:443",
        ] {
            assert!(p.allows_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:9900",
            "localhost.evil.example",
            "10.0.0.1:9900",
            "",
        ] {
            assert!(!p.allows_host(bad), "{bad}");
        }
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("a.b:80"), "a.b");
    }

    #[test]
    fn foreign_host_is_refused_even_for_reads() {
        assert_eq!(
            run(Method::GET, "/api/v1/query", &[("host", "rebound.evil:9900")]),
            Err("host")
        );
        assert_eq!(
            run(Method::GET, "/api/v1/query", &[("host", "localhost:9900")]),
            Ok(())
        );
        assert_eq!(run(Method::GET, "/api/v1/query", &[]), Ok(()));
    }

    #[test]
    fn cross_site_writes_are_refused() {
        let h = ("host", "127.0.0.1:9900");
        let json = ("content-type", "application/json");
        assert_eq!(
            run(
                Method::POST,
                "/api/v2/silences",
                &[h, json, ("origin", "https://evil.example")]
            ),
            Err("origin")
        );
        assert_eq!(
            run(
                Method::POST,
                "/api/v2/silences",
                &[h, json, ("sec-fetch-site", "cross-site")]
            ),
            Err("origin")
        );
        assert_eq!(
            run(Method::POST, "/-/reload", &[h, ("origin", "null")]),
            Err("origin")
        );
        assert_eq!(
            run(
                Method::DELETE,
                "/api/v2/silence/x",
                &[h, ("sec-fetch-site", "same-site")]
            ),
            Err("origin")
        );
        // Belfry's own origin and non-browser clients pass.
        assert_eq!(
            run(
                Method::POST,
                "/api/v2/silences",
                &[h, json, ("origin", "http://127.0.0.1:9900")]
            ),
            Ok(())
        );
        assert_eq!(
            run(
                Method::POST,
                "/api/v2/silences",
                &[
                    ("host", "belfry.example.org"),
                    json,
                    ("origin", "https://belfry.example.org")
                ]
            ),
            Ok(())
        );
        assert_eq!(run(Method::POST, "/-/reload", &[h]), Ok(()));
        assert_eq!(
            run(Method::POST, "/-/reload", &[h, ("sec-fetch-site", "same-origin")]),
            Ok(())
        );
    }

    #[test]
    fn write_routes_take_their_own_body_type_only() {
        let h = ("host", "127.0.0.1:9900");
        for (path, good) in [
            ("/api/v2/alerts", "application/json; charset=utf-8"),
            ("/api/v2/silences", "application/json"),
            (
                "/api/v1/write",
                "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            ),
        ] {
            assert_eq!(
                run(Method::POST, path, &[h, ("content-type", good)]),
                Ok(()),
                "{path}"
            );
            assert_eq!(run(Method::POST, path, &[h]), Err("content_type"), "{path}");
            for form in [
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
            ] {
                assert_eq!(
                    run(Method::POST, path, &[h, ("content-type", form)]),
                    Err("content_type"),
                    "{path} {form}"
                );
            }
        }
        let import = "/api/v1/import/prometheus";
        assert_eq!(
            run(
                Method::POST,
                import,
                &[h, ("content-type", "text/plain; version=0.0.4")]
            ),
            Ok(())
        );
        assert_eq!(run(Method::POST, import, &[h]), Ok(()));
        assert_eq!(
            run(
                Method::POST,
                import,
                &[h, ("content-type", "application/x-www-form-urlencoded")]
            ),
            Err("content_type")
        );
        assert_eq!(
            run(Method::POST, "/-/reload", &[h, ("content-type", "text/plain")]),
            Err("content_type")
        );
        // The logs ingest route takes what shippers send, never a form.
        let logs = "/api/belfry/logs";
        for ok in ["application/x-ndjson", "application/json"] {
            assert_eq!(
                run(Method::POST, logs, &[h, ("content-type", ok)]),
                Ok(()),
                "{ok}"
            );
        }
        let refused = check(
            &policy(),
            &Method::POST,
            &logs.parse().unwrap(),
            &headers(&[h, ("content-type", "application/x-www-form-urlencoded")]),
        )
        .unwrap_err();
        assert!(
            matches!(&refused, Refusal::ContentType(m) if m.contains("application/x-ndjson")),
            "{refused:?}"
        );
        assert_eq!(
            run(
                Method::POST,
                "/-/future",
                &[h, ("content-type", "application/x-www-form-urlencoded")]
            ),
            Err("content_type")
        );
    }

    #[test]
    fn log_shippers_types_pass_and_forms_do_not() {
        let h = ("host", "127.0.0.1:9900");
        for (path, types) in [
            (
                "/loki/api/v1/push",
                &["application/json", "application/x-protobuf"][..],
            ),
            ("/v1/logs", &["application/x-protobuf", "application/json"][..]),
            (
                "/_bulk",
                &[
                    "application/x-ndjson",
                    "application/json; charset=utf-8",
                    "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
                ][..],
            ),
            ("/lms-logs/_bulk", &["application/x-ndjson"][..]),
        ] {
            for t in types {
                assert_eq!(
                    run(Method::POST, path, &[h, ("content-type", t)]),
                    Ok(()),
                    "{path} {t}"
                );
            }
            for form in [
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ] {
                let refused = check(
                    &policy(),
                    &Method::POST,
                    &path.parse().unwrap(),
                    &headers(&[h, ("content-type", form)]),
                )
                .unwrap_err();
                assert!(
                    matches!(&refused, Refusal::ContentType(m) if m.contains("takes")),
                    "{path} {form}: {refused:?}"
                );
            }
            // A page elsewhere cannot push logs either.
            assert_eq!(
                run(
                    Method::POST,
                    path,
                    &[h, ("content-type", types[0]), ("origin", "https://evil.example")]
                ),
                Err("origin")
            );
        }
        // The Elasticsearch set-up calls shippers make are PUTs with JSON.
        assert_eq!(
            run(
                Method::PUT,
                "/_index_template/filebeat",
                &[h, ("content-type", "application/json")]
            ),
            Ok(())
        );
    }

    #[test]
    fn the_login_form_posts_from_its_own_page_only() {
        let h = ("host", "127.0.0.1:9900");
        let form = ("content-type", "application/x-www-form-urlencoded");
        assert_eq!(
            run(
                Method::POST,
                "/api/belfry/login",
                &[h, form, ("sec-fetch-site", "same-origin")]
            ),
            Ok(())
        );
        assert_eq!(
            run(
                Method::POST,
                "/api/belfry/login",
                &[h, form, ("origin", "https://evil.example")]
            ),
            Err("origin")
        );
    }

    #[test]
    fn queries_keep_taking_form_posts() {
        let form = ("content-type", "application/x-www-form-urlencoded");
        assert_eq!(
            run(
                Method::POST,
                "/api/v1/query",
                &[
                    ("host", "localhost:9900"),
                    form,
                    ("origin", "http://grafana:3000")
                ]
            ),
            Ok(())
        );
    }
}
