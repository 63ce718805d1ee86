//! Handlers, one file per API family.

pub mod accounts;
pub mod alert_history;
pub mod alertmanager;
pub mod annotations;
pub mod backup;
pub mod dashboards;
pub mod errors_attachments;
pub mod errors_correlation;
pub mod errors_feedback;
pub mod errors_ingest;
pub mod errors_issues;
pub mod errors_monitors;
pub mod errors_releases;
pub mod es_bulk;
pub mod es_cluster;
pub mod es_document;
pub mod es_headers;
mod es_index_name;
pub mod exemplars;
pub mod federate;
pub mod flood;
pub mod lifecycle;
pub mod logs_body;
pub mod logs_ingest;
pub mod logs_search;
mod loki_json;
pub mod loki_labels;
pub mod loki_push;
pub mod loki_query;
pub mod loki_status;
pub mod loki_tail;
pub mod oidc_login;
pub mod otlp_logs;
pub mod query;
pub mod receivers;
pub mod reports;
pub mod rules;
pub mod runbooks;
pub mod series;
pub mod server_status;
pub mod session;
pub mod status;
pub mod target_metadata;
pub mod targets;
pub mod write;

use serde::Serialize;
use serde_json::json;

use super::error::ApiError;

/// Prometheus's success envelope: `{"status":"success","data":...}` plus
/// `warnings` when there are any.
pub fn success<T: Serialize>(data: T, warnings: Vec<String>) -> axum::Json<serde_json::Value> {
    let mut body = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    axum::Json(body)
}

/// Runs storage work off the async executor: redb reads and chunk decoding
/// block, and must not stall other requests.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("storage task failed: {e}")))?
}
