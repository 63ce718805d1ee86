//! Elasticsearch's single-document index API — `POST /{index}/_doc`,
//! `PUT|POST /{index}/_doc/{id}` and `PUT|POST /{index}/_create/{id}` —
//! which Logstash, Fluent Bit in some modes and curl users send one record
//! at a time. The document is read as a bulk item is (ECS names), stored,
//! and answered once durable in Elasticsearch's shape: `201` with
//! `"result": "created"`, or the error document with the item's status.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::logs::ingest::bulk::{Action, BulkError, BulkItem, BulkRequest, document_entry};
use crate::web::error::ElasticsearchApiError;
use crate::web::state::AppState;

use super::blocking;
use super::es_bulk::store_items;
use super::es_cluster::index_error;
use super::es_index_name::invalid_index_name;
use super::logs_body::read_body;
use super::logs_search::store;

/// `POST /{index}/_doc`: the id is generated.
pub async fn index_doc(
    State(state): State<Arc<AppState>>,
    Path(index): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ElasticsearchApiError> {
    store_document(state, Action::Index, index, None, headers, body).await
}

/// `PUT|POST /{index}/_doc/{id}`.
pub async fn index_doc_with_id(
    State(state): State<Arc<AppState>>,
    Path((index, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ElasticsearchApiError> {
    store_document(state, Action::Index, index, Some(id), headers, body).await
}

/// `PUT|POST /{index}/_create/{id}`.
pub async fn create_doc(
    State(state): State<Arc<AppState>>,
    Path((index, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ElasticsearchApiError> {
    store_document(state, Action::Create, index, Some(id), headers, body).await
}

async fn store_document(
    state: Arc<AppState>,
    action: Action,
    index: String,
    id: Option<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ElasticsearchApiError> {
    if let Some(why) = invalid_index_name(&index) {
        return Ok(index_error(
            StatusCode::BAD_REQUEST,
            "invalid_index_name_exception",
            why,
            &index,
        ));
    }
    let started = Instant::now();
    let store = store(&state)?;
    let body = read_body(&state, &headers, body).await?;
    let item_index = index.clone();
    let mut answer = blocking(move || {
        let outcome = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(doc)) => document_entry(doc, &item_index),
            Ok(_) => Err(BulkError::Document {
                line: 1,
                reason: "the document is not a JSON object".into(),
            }),
            Err(e) => Err(BulkError::Document {
                line: 1,
                reason: e.to_string(),
            }),
        };
        let mut request = BulkRequest {
            items: vec![BulkItem {
                action,
                index: Some(item_index),
                id,
                outcome,
            }],
        };
        store_items(&store, &mut request, started)
    })
    .await?;
    let mut item = answer["items"][0][action.name()].take();
    let status = item["status"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(u16::try_from(s).ok()?).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::CREATED {
        if let Some(fields) = item.as_object_mut() {
            fields.remove("status");
        }
        return Ok((status, Json(item)).into_response());
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    Ok(index_error(
        status,
        &text(&item["error"]["type"]),
        text(&item["error"]["reason"]),
        &index,
    ))
}
