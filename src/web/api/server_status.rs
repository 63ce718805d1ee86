//! Prometheus's status endpoints about the server itself:
//! `/api/v1/status/config`, `/api/v1/status/flags`,
//! `/api/v1/status/runtimeinfo`, `/api/v1/status/walreplay`, and the two
//! lists Prometheus's UI shows beside them, `/api/v1/alertmanagers` and
//! `/api/v1/scrape_pools`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::json;

use crate::model::rfc3339;
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::success;

/// The configuration in effect as YAML, every secret shown as `<secret>`.
pub async fn config(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, ApiError> {
    let yaml = serde_norway::to_string(state.status.config().as_ref())
        .map_err(|e| ApiError::Internal(format!("cannot show the configuration: {e}")))?;
    Ok(success(json!({"yaml": yaml}), vec![]))
}

/// The command-line settings, flag name → value.
pub async fn flags(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    success(&state.status.flags, vec![])
}

/// Prometheus's runtime figures with Belfry's equivalents: live async
/// tasks stand for goroutines, usable cores for GOMAXPROCS.
pub async fn runtimeinfo(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let info = &state.status;
    let reload = info.reload();
    let storage = &info.config().storage;
    let retention = if storage.retention_size.0 == 0 {
        storage.retention_time.to_string()
    } else {
        format!("{} or {}", storage.retention_time, storage.retention_size)
    };
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let tasks = tokio::runtime::Handle::try_current()
        .map(|h| h.metrics().num_alive_tasks())
        .unwrap_or(0);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    success(
        json!({
            "startTime": rfc3339(info.start_time),
            "CWD": cwd,
            "reloadConfigSuccess": reload.success,
            "lastConfigTime": rfc3339(reload.last_config_time),
            "corruptionCount": info.wal_replay.corruptions,
            "goroutineCount": tasks,
            "GOMAXPROCS": cores,
            "storageRetention": retention,
        }),
        vec![],
    )
}

/// The WAL segments replayed at start; replay is over before the server
/// answers, so `current` equals `max`.
pub async fn walreplay(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let w = state.status.wal_replay;
    success(json!({"min": w.min, "max": w.max, "current": w.current}), vec![])
}

/// Belfry's Alertmanager is in-process; it is listed under the URL of its
/// `/api/v2/alerts`, where an outside Prometheus could send alerts too.
pub async fn alertmanagers(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let url = format!("http://{}/api/v2/alerts", state.status.listen);
    success(
        json!({"activeAlertmanagers": [{"url": url}], "droppedAlertmanagers": []}),
        vec![],
    )
}

/// The scrape jobs' names, sorted.
pub async fn scrape_pools(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let config = state.status.config();
    let mut pools: Vec<&str> = config
        .scrape_configs
        .iter()
        .map(|j| j.job_name.as_str())
        .collect();
    pools.sort_unstable();
    success(json!({"scrapePools": pools}), vec![])
}
