//! `POST /api/belfry/receivers/{name}/test`: a test notification through
//! every integration of one receiver, answering each one's outcome (the
//! receivers' names are Alertmanager's `GET /api/v2/receivers`). Recorded
//! in the audit log by the access layer, since it reaches people.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::web::access::ActingAs;
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::success;

/// `POST /api/belfry/receivers/{name}/test`: 200 with
/// `{"receiver", "alertname", "integrations": [{"integration", "index",
/// "delivered", "error"?}]}` whether or not every integration delivered;
/// 404 for an unknown receiver, 429 while too many tests are in flight.
pub async fn test(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let outcome = state.alerting.test_receiver(&name, &actor.name).await?;
    Ok(success(outcome, Vec::new()))
}
