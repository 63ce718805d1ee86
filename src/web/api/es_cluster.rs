//! What log shippers ask an Elasticsearch cluster before they send bulk
//! requests, answered so they go on to send: the version document at
//! `GET /` (an 8.x cluster: Filebeat, Logstash and Elastic's clients check
//! the major version and the `X-Elastic-Product` header), the license and
//! features, cluster health, and index, template, ILM and data-stream
//! set-up calls, which are acknowledged and change nothing — Belfry keeps
//! every document as a log record whatever its index.

use axum::Json;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::web::error::{ApiError, ElasticsearchApiError};

use super::es_index_name::invalid_index_name;

/// The Elasticsearch version Belfry answers as: the bulk API and the
/// handshake of 8.x, which 7.x and 8.x shippers both accept.
pub const ES_VERSION: &str = "8.17.0";
const LUCENE_VERSION: &str = "9.12.0";
const CLUSTER_NAME: &str = "belfry";
const CLUSTER_UUID: &str = "YmVsZnJ5LWxvZ3MtMDAwMQ";

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.to_ascii_lowercase().contains("text/html"))
}

/// `GET /` for a program: the version document. A person's browser gets
/// the overview instead (`ui::overview::front_door`).
pub fn root() -> Response {
    Json(version_document()).into_response()
}

/// `HEAD /`: Elastic's clients and Logstash ping with it.
pub async fn root_head() -> StatusCode {
    StatusCode::OK
}

fn version_document() -> Value {
    json!({
        "name": "belfry",
        "cluster_name": CLUSTER_NAME,
        "cluster_uuid": CLUSTER_UUID,
        "version": {
            "number": ES_VERSION,
            "build_flavor": "default",
            "build_type": "belfry",
            "build_hash": env!("CARGO_PKG_VERSION"),
            "build_date": "2024-12-11T12:08:05.663969764Z",
            "build_snapshot": false,
            "lucene_version": LUCENE_VERSION,
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    })
}

/// `GET /_license`: a basic license, what a default cluster has.
pub async fn license() -> Json<Value> {
    Json(json!({
        "license": {
            "status": "active",
            "uid": CLUSTER_UUID,
            "type": "basic",
            "issue_date": "2024-01-01T00:00:00.000Z",
            "issue_date_in_millis": 1_704_067_200_000_i64,
            "max_nodes": 1000,
            "max_resource_units": null,
            "issued_to": CLUSTER_NAME,
            "issuer": "elasticsearch",
            "start_date_in_millis": -1,
        }
    }))
}

/// `GET /_xpack`: Filebeat and Logstash look for ILM here.
pub async fn xpack() -> Json<Value> {
    let on = json!({"available": true, "enabled": true});
    Json(json!({
        "build": {"hash": env!("CARGO_PKG_VERSION"), "date": "2024-12-11T12:08:05.663969764Z"},
        "license": {"uid": CLUSTER_UUID, "type": "basic", "mode": "basic", "status": "active"},
        "features": {"ilm": on, "data_streams": on, "security": {"available": true, "enabled": false}},
        "tagline": "You know, for X",
    }))
}

/// `GET /_cluster/health`: one green node.
pub async fn cluster_health() -> Json<Value> {
    Json(json!({
        "cluster_name": CLUSTER_NAME,
        "status": "green",
        "timed_out": false,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": 0,
        "active_shards": 0,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": 100.0,
    }))
}

/// `PUT` of a template, ILM policy, data stream or index: acknowledged,
/// nothing kept (every document becomes a log record whatever its index).
pub async fn acknowledge() -> Json<Value> {
    Json(json!({"acknowledged": true}))
}

/// `GET`/`HEAD` of a template, ILM policy or data stream: none exists, so
/// a shipper that checks before installing one goes on to `PUT` it.
pub async fn not_found(Path(name): Path<String>) -> ElasticsearchApiError {
    ElasticsearchApiError(ApiError::NotFound(format!("[{name}] not found")))
}

/// Elasticsearch's error document, with the index it names.
pub fn index_error(status: StatusCode, error_type: &str, reason: String, index: &str) -> Response {
    let cause = json!({"type": error_type, "reason": reason, "index": index, "index_uuid": "_na_"});
    let body = json!({"error": {"root_cause": [cause.clone()], "type": error_type, "reason": reason,
        "index": index, "index_uuid": "_na_"}, "status": status.as_u16()});
    (status, Json(body)).into_response()
}

/// 404 for what is no index name (`/favicon.ico`), as Elasticsearch
/// answers an index that does not exist.
fn no_such_index(index: &str) -> Option<Response> {
    invalid_index_name(index)?;
    Some(index_error(
        StatusCode::NOT_FOUND,
        "index_not_found_exception",
        format!("no such index [{index}]"),
        index,
    ))
}

/// `GET /{index}`: every index exists (documents are accepted into any)
/// whose name is one.
pub async fn index_info(Path(index): Path<String>, headers: HeaderMap) -> Response {
    if wants_html(&headers) {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Some(missing) = no_such_index(&index) {
        return missing;
    }
    Json(json!({
        index.clone(): {
            "aliases": {},
            "mappings": {},
            "settings": {"index": {"provided_name": index, "number_of_shards": "1", "number_of_replicas": "0"}},
        }
    }))
    .into_response()
}

/// `HEAD /{index}`.
pub async fn index_exists(Path(index): Path<String>) -> StatusCode {
    if invalid_index_name(&index).is_some() {
        return StatusCode::NOT_FOUND;
    }
    StatusCode::OK
}

/// `PUT /{index}`: created (nothing to create), or refused as
/// Elasticsearch refuses a bad name.
pub async fn create_index(Path(index): Path<String>) -> Response {
    if let Some(why) = invalid_index_name(&index) {
        return index_error(
            StatusCode::BAD_REQUEST,
            "invalid_index_name_exception",
            why,
            &index,
        );
    }
    Json(json!({"acknowledged": true, "shards_acknowledged": true, "index": index})).into_response()
}
