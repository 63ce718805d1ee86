//! Every URL Belfry serves and its handler, in one place; who may call
//! each is `access/route_table.rs`, held to this file by its tests.

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Extensions, HeaderMap, StatusCode, Version};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, Predicate};

use super::access::access;
use super::api::alertmanager as am;
use super::api::exemplars::query_exemplars;
use super::api::{
    accounts, alert_history, annotations, backup, dashboards, errors_attachments, errors_correlation,
    errors_feedback, errors_ingest, errors_issues, errors_monitors, errors_releases, es_bulk, es_cluster,
    es_document, es_headers, federate, flood, lifecycle, logs_ingest, logs_search, loki_labels, loki_push,
    loki_query, loki_status, loki_tail, oidc_login, otlp_logs, query, receivers, reports, rules, runbooks,
    series, server_status, session, status, target_metadata, targets, write,
};
use super::guard::guard;
use super::state::AppState;
use super::ui;

pub fn router(state: Arc<AppState>) -> Router {
    let hsts = state.transport.hsts().cloned();
    let router = Router::new()
        .route("/-/healthy", get(lifecycle::healthy))
        .route("/-/ready", get(lifecycle::ready))
        .merge(account_routes())
        .merge(page_routes())
        .merge(dashboard_routes())
        .merge(runbook_routes())
        .merge(report_routes())
        .route("/-/reload", post(lifecycle::reload).put(lifecycle::reload))
        .route("/metrics", get(lifecycle::metrics))
        .route("/federate", get(federate::federate))
        .route("/api/v1/query", get(query::query).post(query::query))
        .route(
            "/api/v1/query_range",
            get(query::query_range).post(query::query_range),
        )
        .route(
            "/api/v1/format_query",
            get(query::format_query).post(query::format_query),
        )
        .route(
            "/api/v1/parse_query",
            get(query::parse_query).post(query::parse_query),
        )
        .route(
            "/api/v1/query_exemplars",
            get(query_exemplars).post(query_exemplars),
        )
        .route("/api/v1/series", get(series::series).post(series::series))
        .route(
            "/api/v1/labels",
            get(series::label_names).post(series::label_names),
        )
        .route("/api/v1/label/{name}/values", get(series::label_values))
        .route("/api/v1/write", post(write::remote_write))
        .route("/api/v1/import/prometheus", post(write::import_prometheus))
        .route("/api/v1/targets", get(targets::targets))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/belfry/alerts/history", get(alert_history::list))
        .route(
            "/api/belfry/flood",
            get(flood::get).post(flood::on).delete(flood::off),
        )
        .route("/api/belfry/backup", post(backup::take))
        .route("/prometheus/api/v1/rules", get(rules::logql_rules))
        .route("/prometheus/api/v1/alerts", get(rules::logql_alerts))
        .route("/api/v1/metadata", get(targets::metadata))
        .route("/api/v1/status/buildinfo", get(status::buildinfo))
        .route("/api/v1/status/tsdb", get(status::tsdb))
        .route("/api/v1/status/config", get(server_status::config))
        .route("/api/v1/status/flags", get(server_status::flags))
        .route("/api/v1/status/runtimeinfo", get(server_status::runtimeinfo))
        .route("/api/v1/status/walreplay", get(server_status::walreplay))
        .route("/api/v1/alertmanagers", get(server_status::alertmanagers))
        .route("/api/v1/scrape_pools", get(server_status::scrape_pools))
        .route("/api/v1/targets/metadata", get(target_metadata::target_metadata))
        .route("/api/v2/alerts", get(am::get_alerts).post(am::post_alerts))
        .route("/api/v2/alerts/groups", get(am::get_alert_groups))
        .route("/api/v2/silences", get(am::get_silences).post(am::post_silences))
        .route(
            "/api/v2/silence/{id}",
            get(am::get_silence).delete(am::delete_silence),
        )
        .route("/api/v2/receivers", get(am::receivers))
        .route("/api/v2/status", get(am::status))
        .route("/api/belfry/receivers/{name}/test", post(receivers::test))
        .route("/api/belfry/logs", post(logs_ingest::ingest_ndjson))
        .route("/api/belfry/logs/search", get(logs_search::search))
        .route("/api/belfry/logs/context", get(logs_search::context))
        .merge(errors_routes())
        .route("/loki/api/v1/push", post(loki_push::push))
        .route("/v1/logs", post(otlp_logs::export_logs))
        .merge(elasticsearch_routes())
        .route("/ready", get(loki_status::ready))
        .route("/loki/api/v1/status/buildinfo", get(loki_status::buildinfo))
        .route(
            "/loki/api/v1/query",
            get(loki_query::query).post(loki_query::query),
        )
        .route(
            "/loki/api/v1/query_range",
            get(loki_query::query_range).post(loki_query::query_range),
        )
        .route(
            "/loki/api/v1/labels",
            get(loki_labels::labels).post(loki_labels::labels),
        )
        .route(
            "/loki/api/v1/label/{name}/values",
            get(loki_labels::label_values).post(loki_labels::label_values),
        )
        .route(
            "/loki/api/v1/series",
            get(loki_labels::series).post(loki_labels::series),
        )
        .route(
            "/loki/api/v1/index/stats",
            get(loki_labels::index_stats).post(loki_labels::index_stats),
        )
        .route(
            "/loki/api/v1/index/volume",
            get(loki_labels::volume).post(loki_labels::volume),
        )
        .route(
            "/loki/api/v1/index/volume_range",
            get(loki_labels::volume_range).post(loki_labels::volume_range),
        )
        .route("/loki/api/v1/tail", get(loki_tail::tail))
        // Outermost last: the guard refuses what a web page elsewhere
        // sent before credentials are looked at; both are counted.
        .layer(middleware::from_fn_with_state(state.clone(), access))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .layer(middleware::from_fn(ui::page_headers))
        // gzip for clients that ask (browsers, Grafana, Prometheus's
        // scrapes of /metrics): pages, scripts and query answers are text
        // that shrinks four to eight times, which is most of a page's time
        // on a slow link. The fastest level: the CPU goes to queries.
        .layer(
            CompressionLayer::new()
                .quality(CompressionLevel::Fastest)
                // Live tail's WebSocket upgrade has no body to encode.
                .compress_when(DefaultPredicate::new().and(
                    |status: StatusCode, _: Version, _: &HeaderMap, _: &Extensions| {
                        status != StatusCode::SWITCHING_PROTOCOLS
                    },
                )),
        )
        .with_state(state);
    // Outermost, so refusals and unknown paths carry it too.
    match hsts {
        Some(value) => router.layer(middleware::from_fn(move |req, next| {
            super::transport::add_hsts(value.clone(), req, next)
        })),
        None => router,
    }
}

/// Signing in and out, users, tokens and the audit log.
fn account_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(session::login_page))
        .route("/api/belfry/login", post(session::login))
        .route("/login/oidc", get(oidc_login::begin))
        .route("/login/oidc/callback", get(oidc_login::callback))
        .route("/api/belfry/logout", post(session::logout))
        .route("/api/belfry/session", get(session::session))
        .route(
            "/api/belfry/users",
            get(accounts::list_users).post(accounts::add_user),
        )
        .route(
            "/api/belfry/users/{name}",
            get(accounts::get_user)
                .put(accounts::update_user)
                .delete(accounts::remove_user),
        )
        .route("/api/belfry/users/{name}/unlock", post(accounts::unlock_user))
        .route(
            "/api/belfry/tokens",
            get(accounts::list_tokens).post(accounts::add_token),
        )
        .route("/api/belfry/tokens/{name}", delete(accounts::remove_token))
        .route("/api/belfry/audit", get(accounts::audit))
}

/// The staff pages and their static files; `/` (the overview, or
/// Elasticsearch's handshake for a program) is with Elasticsearch's routes.
fn page_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/static/{*path}", get(ui::assets::serve))
        .route("/dashboards", get(ui::dashboards::list))
        .route("/d/{uid}", get(ui::dashboards::view))
        .route("/explore", get(ui::explore::page))
        .route("/errors", get(ui::errors::page))
        .route("/errors/issues/{id}", get(ui::error_issue::page))
        .route("/alerts", get(ui::alerts::page))
        .route("/logs", get(ui::logs::page))
        .route("/silences", get(ui::silences::page))
        .route("/targets", get(ui::targets::page))
        .route("/status", get(ui::status::page))
        .route("/admin", get(ui::admin::page))
}

/// Dashboards and the annotations their graphs mark.
fn dashboard_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/belfry/dashboards",
            get(dashboards::list).post(dashboards::import),
        )
        .route(
            "/api/belfry/dashboards/{uid}",
            get(dashboards::get).delete(dashboards::delete),
        )
        .route(
            "/api/belfry/dashboards/{uid}/duplicate",
            post(dashboards::duplicate),
        )
        .route("/api/belfry/annotations", get(annotations::list))
}

/// The SEV-3 reports: the list, a report's preview, and sending one now.
fn report_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/reports", get(ui::reports::list))
        .route("/reports/{name}", get(ui::reports::view))
        .route("/api/belfry/reports", get(reports::list))
        .route("/api/belfry/reports/{name}/send", post(reports::send))
}

/// The alerts' runbooks: the pages and the API admins edit them with.
fn runbook_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/runbooks", get(ui::runbooks::list))
        .route("/runbooks/{name}", get(ui::runbooks::view))
        .route("/runbooks/{name}/edit", get(ui::runbooks::edit))
        .route("/api/belfry/runbooks", get(runbooks::list))
        .route(
            "/api/belfry/runbooks/{name}",
            get(runbooks::get).put(runbooks::put).delete(runbooks::restore),
        )
        .route("/api/belfry/runbooks/{name}/preview", post(runbooks::preview))
}

/// Sentry's ingest endpoints (SDKs write them with the trailing slash,
/// some proxies strip it) and the issues API.
fn errors_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/{project_id}/envelope/", post(errors_ingest::envelope))
        .route("/api/{project_id}/envelope", post(errors_ingest::envelope))
        .route("/api/{project_id}/store/", post(errors_ingest::store))
        .route("/api/{project_id}/store", post(errors_ingest::store))
        .route("/api/belfry/errors/issues", get(errors_issues::list))
        .route("/api/belfry/errors/events", get(errors_correlation::events))
        .route("/api/belfry/correlate", get(errors_correlation::correlate))
        .route(
            "/api/belfry/errors/issues/{id}",
            get(errors_issues::detail).put(errors_issues::update),
        )
        .route(
            "/api/belfry/errors/issues/{id}/events",
            get(errors_issues::events),
        )
        .route(
            "/api/belfry/errors/issues/{id}/feedback",
            get(errors_feedback::list),
        )
        .route("/api/belfry/errors/releases", get(errors_releases::list))
        .route(
            "/api/belfry/errors/releases/{version}",
            get(errors_releases::detail),
        )
        .route(
            "/api/belfry/errors/events/{event_id}/attachments/{name}",
            get(errors_attachments::download),
        )
        .route("/api/belfry/errors/monitors", get(errors_monitors::list))
        .route(
            "/api/belfry/errors/monitors/{slug}/checkins",
            get(errors_monitors::checkins),
        )
}

/// Elasticsearch's bulk API and the calls shippers make around it; every
/// answer says it is Elasticsearch (`X-Elastic-Product`).
fn elasticsearch_routes() -> Router<Arc<AppState>> {
    let setup = || {
        get(es_cluster::not_found)
            .head(es_cluster::not_found)
            .put(es_cluster::acknowledge)
    };
    Router::new()
        .route("/", get(ui::overview::front_door).head(es_cluster::root_head))
        .route("/_bulk", post(es_bulk::bulk).put(es_bulk::bulk))
        .route(
            "/{index}/_bulk",
            post(es_bulk::bulk_index).put(es_bulk::bulk_index),
        )
        .route("/{index}/_doc", post(es_document::index_doc))
        .route(
            "/{index}/_doc/{id}",
            put(es_document::index_doc_with_id).post(es_document::index_doc_with_id),
        )
        .route(
            "/{index}/_create/{id}",
            put(es_document::create_doc).post(es_document::create_doc),
        )
        .route("/_license", get(es_cluster::license))
        .route("/_xpack", get(es_cluster::xpack))
        .route("/_cluster/health", get(es_cluster::cluster_health))
        .route("/_index_template/{name}", setup())
        .route("/_template/{name}", setup())
        .route("/_ilm/policy/{name}", setup())
        .route("/_data_stream/{name}", setup())
        .route(
            "/{index}",
            get(es_cluster::index_info)
                .head(es_cluster::index_exists)
                .put(es_cluster::create_index),
        )
        .layer(middleware::from_fn(es_headers::elastic_headers))
}

/// Counts requests by route pattern (not raw path, which would explode
/// cardinality) and status code.
async fn count_requests(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "other".to_string());
    let resp = next.run(req).await;
    state
        .metrics
        .requests
        .with(&[&handler, resp.status().as_str()])
        .inc();
    resp
}
