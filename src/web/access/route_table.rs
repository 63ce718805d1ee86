//! The route table: what every URL Belfry serves needs, in one place.
//! `router.rs` registers handlers; this table says who may call them, and
//! `tests::every_route_has_a_rule` holds the two together, so a route
//! cannot be added without deciding its access.
//!
//! A rule gives the need of the reading methods (GET, HEAD, OPTIONS) and of
//! the others. Queries that clients send as POST forms (Grafana, the
//! Prometheus API's clients) need `Read` for both, and are the only POSTs
//! that are not state changes.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::http::Method;

use crate::auth::Permission::{self, Admin, Ingest, Read, Write};

/// What a request must bring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: liveness, readiness, the login page and the login itself.
    Public,
    /// Any session or token (logging out, asking who one is).
    Signed,
    /// One permission, granted by a role or a token's scopes.
    Permission(Permission),
    /// Any of these permissions: calls that both readers and shippers
    /// make (an Elasticsearch client asks for the version first).
    AnyOf(&'static [Permission]),
    /// Sentry's ingest: the DSN key in the request, checked against its
    /// project by the handler; no session or token is asked for.
    DsnKey,
}

/// Who may call one route.
#[derive(Clone, Copy, Debug)]
pub struct RouteRule {
    /// The route's pattern as `router.rs` registers it.
    pub path: &'static str,
    /// GET, HEAD and OPTIONS.
    pub read: Need,
    /// Every other method.
    pub change: Need,
    /// The audit log's action for a successful change (None: not
    /// recorded here — ingest, or recorded by the accounts themselves).
    pub audit: Option<&'static str>,
}

const fn rule(path: &'static str, read: Need, change: Need, audit: Option<&'static str>) -> RouteRule {
    RouteRule {
        path,
        read,
        change,
        audit,
    }
}

const R: Need = Need::Permission(Read);
const I: Need = Need::Permission(Ingest);
const W: Need = Need::Permission(Write);
const A: Need = Need::Permission(Admin);
const READ_OR_INGEST: Need = Need::AnyOf(&[Read, Ingest]);

/// A read-only route: queries take POST forms too.
const fn query(path: &'static str) -> RouteRule {
    rule(path, R, R, None)
}

/// An ingest route; reading it (405 in practice) needs `Read`.
const fn ingest(path: &'static str) -> RouteRule {
    rule(path, R, I, None)
}

/// Every route; order does not matter.
pub const ROUTES: &[RouteRule] = &[
    // Probes and signing in.
    rule("/-/healthy", Need::Public, Need::Public, None),
    rule("/-/ready", Need::Public, Need::Public, None),
    rule("/login", Need::Public, Need::Public, None),
    rule("/api/belfry/login", Need::Public, Need::Public, None),
    // Single sign-on: the redirect to the provider and its callback.
    rule("/login/oidc", Need::Public, Need::Public, None),
    rule("/login/oidc/callback", Need::Public, Need::Public, None),
    rule("/api/belfry/logout", Need::Signed, Need::Signed, None),
    rule("/api/belfry/session", Need::Signed, Need::Signed, None),
    // The pages' scripts and styles hold nothing private, and the login
    // page needs them before anyone signs in.
    rule("/static/{*path}", Need::Public, Need::Public, None),
    // The staff pages (`/` is with Elasticsearch's routes below).
    query("/dashboards"),
    query("/d/{uid}"),
    query("/explore"),
    query("/errors"),
    query("/errors/issues/{id}"),
    query("/alerts"),
    query("/silences"),
    query("/logs"),
    query("/targets"),
    query("/status"),
    // Users, tokens and the audit log.
    rule("/admin", A, A, None),
    // Accounts and the audit log (recorded by the accounts themselves).
    rule("/api/belfry/users", A, A, None),
    rule("/api/belfry/users/{name}", A, A, None),
    rule("/api/belfry/users/{name}/unlock", A, A, None),
    rule("/api/belfry/tokens", A, A, None),
    rule("/api/belfry/tokens/{name}", A, A, None),
    rule("/api/belfry/audit", A, A, None),
    // Alert flood mode (recorded by flood mode itself, with its end,
    // reason and overrides; and its expiry, which no request makes).
    rule("/api/belfry/flood", R, W, None),
    // A copy of everything stored, password hashes and issues included
    // (recorded by the backup itself when its stream ends, with what it
    // held or why it failed).
    rule("/api/belfry/backup", A, A, None),
    // The SEV-3 reports: previews read, a send is a change.
    query("/reports"),
    query("/reports/{name}"),
    query("/api/belfry/reports"),
    rule("/api/belfry/reports/{name}/send", R, W, Some("report.send")),
    // Server.
    rule("/-/reload", R, W, Some("config.reload")),
    query("/metrics"),
    query("/federate"),
    // Prometheus's query API.
    query("/api/v1/query"),
    query("/api/v1/query_range"),
    query("/api/v1/format_query"),
    query("/api/v1/parse_query"),
    query("/api/v1/query_exemplars"),
    query("/api/v1/series"),
    query("/api/v1/labels"),
    query("/api/v1/label/{name}/values"),
    query("/api/v1/targets"),
    query("/api/v1/rules"),
    query("/api/v1/alerts"),
    query("/api/belfry/alerts/history"),
    query("/prometheus/api/v1/rules"),
    query("/prometheus/api/v1/alerts"),
    query("/api/v1/metadata"),
    query("/api/v1/status/buildinfo"),
    query("/api/v1/status/tsdb"),
    query("/api/v1/status/config"),
    query("/api/v1/status/flags"),
    query("/api/v1/status/runtimeinfo"),
    query("/api/v1/status/walreplay"),
    query("/api/v1/alertmanagers"),
    query("/api/v1/scrape_pools"),
    query("/api/v1/targets/metadata"),
    // Dashboards: importing, deleting and duplicating are an editor's
    // changes.
    rule("/api/belfry/dashboards", R, W, Some("dashboard.import")),
    rule("/api/belfry/dashboards/{uid}", R, W, Some("dashboard.delete")),
    rule(
        "/api/belfry/dashboards/{uid}/duplicate",
        R,
        W,
        Some("dashboard.duplicate"),
    ),
    query("/api/belfry/annotations"),
    // Runbooks: anyone who reads alerts reads them; admins write them (an
    // edit is PUT, the restore of the built-in text DELETE, both audited).
    query("/runbooks"),
    query("/runbooks/{name}"),
    rule("/runbooks/{name}/edit", A, A, None),
    query("/api/belfry/runbooks"),
    rule("/api/belfry/runbooks/{name}", R, A, Some("runbook.edit")),
    // The editor's preview changes nothing, but only editors of runbooks use it.
    rule("/api/belfry/runbooks/{name}/preview", A, A, None),
    // Metrics in.
    ingest("/api/v1/write"),
    ingest("/api/v1/import/prometheus"),
    // Alertmanager's API: alerts come in like samples; silences are an
    // editor's change.
    ingest("/api/v2/alerts"),
    query("/api/v2/alerts/groups"),
    rule("/api/v2/silences", R, W, Some("silence.create")),
    rule("/api/v2/silence/{id}", R, W, Some("silence.expire")),
    query("/api/v2/receivers"),
    query("/api/v2/status"),
    // A receiver's test notification reaches people: an editor's change.
    rule("/api/belfry/receivers/{name}/test", R, W, Some("receiver.test")),
    // Logs.
    ingest("/api/belfry/logs"),
    query("/api/belfry/logs/search"),
    query("/api/belfry/logs/context"),
    ingest("/loki/api/v1/push"),
    ingest("/v1/logs"),
    query("/ready"),
    query("/loki/api/v1/status/buildinfo"),
    query("/loki/api/v1/query"),
    query("/loki/api/v1/query_range"),
    query("/loki/api/v1/labels"),
    query("/loki/api/v1/label/{name}/values"),
    query("/loki/api/v1/series"),
    query("/loki/api/v1/index/stats"),
    query("/loki/api/v1/index/volume"),
    query("/loki/api/v1/index/volume_range"),
    query("/loki/api/v1/tail"),
    // Errors: Sentry's ingest authorizes by DSN key.
    rule("/api/{project_id}/envelope/", R, Need::DsnKey, None),
    rule("/api/{project_id}/envelope", R, Need::DsnKey, None),
    rule("/api/{project_id}/store/", R, Need::DsnKey, None),
    rule("/api/{project_id}/store", R, Need::DsnKey, None),
    query("/api/belfry/errors/issues"),
    query("/api/belfry/errors/events"),
    query("/api/belfry/correlate"),
    rule("/api/belfry/errors/issues/{id}", R, W, Some("issue.status")),
    query("/api/belfry/errors/issues/{id}/events"),
    query("/api/belfry/errors/issues/{id}/feedback"),
    query("/api/belfry/errors/releases"),
    query("/api/belfry/errors/releases/{version}"),
    query("/api/belfry/errors/events/{event_id}/attachments/{name}"),
    query("/api/belfry/errors/monitors"),
    query("/api/belfry/errors/monitors/{slug}/checkins"),
    // Elasticsearch's bulk API and the set-up calls shippers make.
    rule("/", READ_OR_INGEST, I, None),
    rule("/_bulk", READ_OR_INGEST, I, None),
    rule("/{index}/_bulk", READ_OR_INGEST, I, None),
    rule("/{index}/_doc", READ_OR_INGEST, I, None),
    rule("/{index}/_doc/{id}", READ_OR_INGEST, I, None),
    rule("/{index}/_create/{id}", READ_OR_INGEST, I, None),
    rule("/_license", READ_OR_INGEST, I, None),
    rule("/_xpack", READ_OR_INGEST, I, None),
    rule("/_cluster/health", READ_OR_INGEST, I, None),
    rule("/_index_template/{name}", READ_OR_INGEST, I, None),
    rule("/_template/{name}", READ_OR_INGEST, I, None),
    rule("/_ilm/policy/{name}", READ_OR_INGEST, I, None),
    rule("/_data_stream/{name}", READ_OR_INGEST, I, None),
    rule("/{index}", READ_OR_INGEST, I, None),
];

/// A request no route matched (a 404 to come): reading needs `Read`, so
/// whoever is not signed in learns nothing of which paths exist.
pub const UNROUTED: RouteRule = rule("", R, R, None);

/// The rule of a route pattern; None for a pattern missing from the table
/// (which `every_route_has_a_rule` makes impossible; the layer refuses
/// such a route as if it needed `Admin`).
pub fn rule_for(pattern: &str) -> Option<&'static RouteRule> {
    static BY_PATH: OnceLock<HashMap<&'static str, &'static RouteRule>> = OnceLock::new();
    BY_PATH
        .get_or_init(|| ROUTES.iter().map(|r| (r.path, r)).collect())
        .get(pattern)
        .copied()
}

/// Whether `method` reads (its need is the rule's `read`).
pub fn is_read_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl RouteRule {
    pub fn need(&self, method: &Method) -> Need {
        if is_read_method(method) {
            self.read
        } else {
            self.change
        }
    }

    /// A POST that only reads (a query sent as a form): not a state
    /// change, so the CSRF and cross-site checks leave it alone.
    pub fn reads_by_post(&self) -> bool {
        self.change == R
    }
}

/// The rule of a route missing from the table: refused to all but
/// admins rather than left open.
pub const MISSING: RouteRule = rule("", A, A, None);

#[cfg(test)]
mod tests {
    use super::*;

    /// The route patterns `router.rs` registers: every string literal
    /// passed to `.route(`.
    fn registered_routes() -> Vec<String> {
        let source = include_str!("../router.rs");
        let mut out = Vec::new();
        let mut rest = source;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let after = rest.trim_start();
            let Some(literal) = after.strip_prefix('"') else {
                panic!("a .route( call without a literal pattern: {:.60}", after);
            };
            let end = literal.find('"').expect("unterminated route pattern");
            out.push(literal[..end].to_string());
        }
        out
    }

    #[test]
    fn every_route_has_a_rule_and_every_rule_a_route() {
        let registered = registered_routes();
        assert!(
            registered.len() > 50,
            "the router parse found {}",
            registered.len()
        );
        let missing: Vec<_> = registered.iter().filter(|p| rule_for(p).is_none()).collect();
        assert!(
            missing.is_empty(),
            "routes without an access rule in src/web/access/route_table.rs: {missing:?}"
        );
        let stale: Vec<_> = ROUTES
            .iter()
            .filter(|r| !registered.iter().any(|p| p == r.path))
            .map(|r| r.path)
            .collect();
        assert!(
            stale.is_empty(),
            "rules for routes router.rs does not register: {stale:?}"
        );
        let mut seen = std::collections::HashSet::new();
        for r in ROUTES {
            assert!(seen.insert(r.path), "{} has two rules", r.path);
        }
    }

    #[test]
    fn only_probes_and_login_are_public() {
        let public: Vec<_> = ROUTES
            .iter()
            .filter(|r| r.read == Need::Public || r.change == Need::Public)
            .map(|r| r.path)
            .collect();
        assert_eq!(
            public,
            [
                "/-/healthy",
                "/-/ready",
                "/login",
                "/api/belfry/login",
                "/login/oidc",
                "/login/oidc/callback",
                // Scripts and styles, which the login page needs.
                "/static/{*path}",
            ]
        );
    }

    #[test]
    fn reads_never_need_more_than_changes_on_state_changing_routes() {
        for r in ROUTES {
            assert_ne!(r.read, Need::DsnKey, "{}", r.path);
            if r.audit.is_some() {
                assert!(
                    r.change == W || r.change == A,
                    "{}: audited changes are editors' or admins'",
                    r.path
                );
            }
        }
        assert!(rule_for("/api/v1/query").unwrap().reads_by_post());
        assert!(!rule_for("/api/v2/silences").unwrap().reads_by_post());
    }
}
