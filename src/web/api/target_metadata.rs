//! `GET /api/v1/targets/metadata`: what each active target said about its
//! metrics, in Prometheus's shape.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::model::matches_all;
use crate::web::error::ApiError;
use crate::web::params::{Params, parse_selector_param};
use crate::web::state::AppState;

use super::success;

/// `match_target` selects targets by their labels, `metric` one metric
/// (its name is then left out of each entry, as Prometheus does), and
/// `limit` stops adding targets once that many entries are in (negative:
/// no limit).
pub async fn target_metadata(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let limit = match params.get("limit") {
        None | Some("") => None,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => usize::try_from(n).ok(),
            Err(_) => {
                return Err(ApiError::BadData(format!(
                    "invalid parameter \"limit\": limit must be a number, got {s:?}"
                )));
            }
        },
    };
    let matchers = match params.get("match_target").filter(|m| !m.is_empty()) {
        None => None,
        Some(selector) => Some(parse_selector_param("match_target", selector)?),
    };
    let metric = params.get("metric").filter(|m| !m.is_empty());
    let mut out: Vec<Value> = Vec::new();
    for (labels, metadata) in state.scrape.target_metadata() {
        if limit.is_some_and(|n| out.len() >= n) {
            break;
        }
        if let Some(sets) = &matchers
            && !sets.iter().any(|set| matches_all(set, &labels))
        {
            continue;
        }
        for m in metadata {
            match metric {
                Some(want) if want != m.metric => {}
                Some(_) => out.push(json!({"target": labels, "type": m.kind, "help": m.help, "unit": m.unit})),
                None => out.push(
                    json!({"target": labels, "metric": m.metric, "type": m.kind, "help": m.help, "unit": m.unit}),
                ),
            }
        }
    }
    Ok(success(out, vec![]))
}
