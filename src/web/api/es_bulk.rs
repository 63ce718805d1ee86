//! `POST|PUT /_bulk` and `/{index}/_bulk`: Elasticsearch's bulk API, for
//! Filebeat, Fluent Bit, Logstash, Vector, rsyslog's `omelasticsearch`
//! and Elastic's clients. `index` and `create` actions store their
//! document; the answer has one item per action in Elasticsearch's shape,
//! `201` for each stored (fsynced) document, `400` with the reason for
//! each refused one, `429` for each the store could not take now — which
//! clients retry item by item.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use serde_json::Value;

use crate::logs::ingest::bulk::{BulkRequest, ItemStatus, bulk_response, decode_bulk};
use crate::logs::{Entry, LogStore, LogsError};
use crate::web::error::{ApiError, ElasticsearchApiError};
use crate::web::state::AppState;

use super::blocking;
use super::logs_body::read_body;
use super::logs_search::store;

/// The ingest path's name in `belfry_logs_ingested_total{source}`.
const SOURCE: &str = "bulk";

pub async fn bulk(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ElasticsearchApiError> {
    bulk_into(state, None, headers, body).await
}

pub async fn bulk_index(
    State(state): State<Arc<AppState>>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ElasticsearchApiError> {
    bulk_into(state, Some(index), headers, body).await
}

async fn bulk_into(
    state: Arc<AppState>,
    url_index: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ElasticsearchApiError> {
    let started = Instant::now();
    let store = store(&state)?;
    let body = read_body(&state, &headers, body).await?;
    let answer = blocking(move || {
        let mut request =
            decode_bulk(&body, url_index.as_deref()).map_err(|e| ApiError::BadData(e.to_string()))?;
        store_items(&store, &mut request, started)
    })
    .await?;
    Ok(Json(answer).into_response())
}

/// Stores the items the decoder accepted and answers in the bulk shape,
/// one status per item. Blocking (the store's fsync).
pub fn store_items(store: &LogStore, request: &mut BulkRequest, started: Instant) -> Result<Value, ApiError> {
    let mut entries = Vec::new();
    let mut refused = 0u64;
    for item in &mut request.items {
        match &mut item.outcome {
            Ok(entry) => entries.push(std::mem::take::<Entry>(entry)),
            Err(_) => refused += 1,
        }
    }
    store.count_rejected("malformed", refused);
    let n = entries.len();
    let statuses = match store.ingest(SOURCE, entries) {
        Ok(report) => {
            let mut statuses = vec![ItemStatus::Stored; n];
            for (i, reason) in report.rejected {
                statuses[i] = ItemStatus::Failed {
                    status: 400,
                    error_type: "illegal_argument_exception",
                    reason,
                };
            }
            statuses
        }
        Err(e @ LogsError::Backpressure { .. }) => vec![
            ItemStatus::Failed {
                status: 429,
                error_type: "es_rejected_execution_exception",
                reason: e.to_string(),
            };
            n
        ],
        Err(e) => return Err(e.into()),
    };
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(bulk_response(request, &statuses, took))
}
