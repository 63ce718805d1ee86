//! Loki's metadata endpoints: `/loki/api/v1/labels`,
//! `/loki/api/v1/label/{name}/values`, `/loki/api/v1/series`,
//! `/loki/api/v1/index/stats`, `/loki/api/v1/index/volume` and
//! `/index/volume_range`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::logql::metadata::{self, parse_selector};
use crate::logql::{Budget, LogSelector};
use crate::model::Labels;
use crate::promql::format_float;
use crate::web::error::{ApiError, LokiApiError};
use crate::web::loki_params::{step, time_range};
use crate::web::params::Params;
use crate::web::state::AppState;

use super::blocking;
use super::loki_json::labels_json;
use super::loki_query::engine;

fn selector(params: &Params, key: &str) -> Result<Option<LogSelector>, ApiError> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(q) => Ok(Some(parse_selector(q)?)),
    }
}

fn required_selector(params: &Params) -> Result<LogSelector, ApiError> {
    selector(params, "query")?.ok_or_else(|| {
        ApiError::BadData(
            "query parameter is missing: give a stream selector such as {service=\"api\"}".into(),
        )
    })
}

pub async fn labels(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let (start, end) = time_range(&params)?;
    let sel = selector(&params, "query")?;
    let names = blocking(move || {
        Ok(match sel {
            None => metadata::label_names(engine.days(), start, end)?,
            Some(sel) => {
                let budget = Budget::new(engine.limits().clone());
                let streams = metadata::streams(engine.days(), &sel, start, end, &budget)?;
                let names: BTreeSet<String> = streams
                    .iter()
                    .flat_map(|(l, _)| l.iter().map(|x| x.name.clone()))
                    .collect();
                names.into_iter().collect()
            }
        })
    })
    .await?;
    Ok(Json(json!({"status": "success", "data": names})))
}

pub async fn label_values(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    params: Params,
) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let (start, end) = time_range(&params)?;
    let sel = selector(&params, "query")?;
    let values = blocking(move || {
        Ok(match sel {
            None => metadata::label_values(engine.days(), &name, start, end)?,
            Some(sel) => {
                let budget = Budget::new(engine.limits().clone());
                let streams = metadata::streams(engine.days(), &sel, start, end, &budget)?;
                let values: BTreeSet<String> = streams
                    .iter()
                    .filter_map(|(l, _)| l.get(&name).map(str::to_string))
                    .collect();
                values.into_iter().collect::<Vec<_>>()
            }
        })
    })
    .await?;
    Ok(Json(json!({"status": "success", "data": values})))
}

pub async fn series(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let (start, end) = time_range(&params)?;
    let selectors: Vec<LogSelector> = params
        .all("match[]")
        .chain(params.all("match"))
        .map(parse_selector)
        .collect::<Result<_, _>>()
        .map_err(ApiError::from)?;
    if selectors.is_empty() {
        return Err(ApiError::BadData("match[] is missing: give at least one stream selector".into()).into());
    }
    let sets = blocking(move || {
        let budget = Budget::new(engine.limits().clone());
        let mut all: BTreeSet<Labels> = BTreeSet::new();
        for sel in &selectors {
            all.extend(
                metadata::streams(engine.days(), sel, start, end, &budget)?
                    .into_iter()
                    .map(|(l, _)| l),
            );
        }
        Ok(all)
    })
    .await?;
    Ok(Json(json!({
        "status": "success",
        "data": sets.iter().map(labels_json).collect::<Vec<_>>(),
    })))
}

pub async fn index_stats(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let (start, end) = time_range(&params)?;
    let sel = required_selector(&params)?;
    let stats = blocking(move || {
        let budget = Budget::new(engine.limits().clone());
        Ok(metadata::index_stats(engine.days(), &sel, start, end, &budget)?)
    })
    .await?;
    // Loki answers the bare object, without the status envelope.
    Ok(Json(json!(stats)))
}

fn target_labels(params: &Params) -> Vec<String> {
    params
        .get("targetLabels")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn volume_limit(params: &Params) -> Result<usize, ApiError> {
    match params.get("limit") {
        None | Some("") => Ok(100),
        Some(s) => s.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::BadData(format!(
                "invalid parameter \"limit\": {s:?} is not a positive integer"
            ))
        }),
    }
}

pub async fn volume(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let (start, end) = time_range(&params)?;
    let sel = required_selector(&params)?;
    let targets = target_labels(&params);
    let limit = volume_limit(&params)?;
    let rows = blocking(move || {
        let budget = Budget::new(engine.limits().clone());
        Ok(metadata::volume(
            engine.days(),
            &sel,
            start,
            end,
            &targets,
            limit,
            &budget,
        )?)
    })
    .await?;
    let t = end as f64 / 1e9;
    let result: Vec<Value> = rows
        .iter()
        .map(|(l, v)| json!({"metric": labels_json(l), "value": [t, format_float(*v)]}))
        .collect();
    Ok(Json(
        json!({"status": "success", "data": {"resultType": "vector", "result": result}}),
    ))
}

pub async fn volume_range(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<Json<Value>, LokiApiError> {
    let engine = engine(&state)?;
    let (start, end) = time_range(&params)?;
    let sel = required_selector(&params)?;
    let targets = target_labels(&params);
    let limit = volume_limit(&params)?;
    let step_ns = step(&params, start, end)?;
    let steps = ((end - start) / step_ns + 1) as usize;
    if steps as i64 > crate::logql::MAX_POINTS {
        return Err(ApiError::BadData(format!(
            "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
            crate::logql::MAX_POINTS
        ))
        .into());
    }
    let series = blocking(move || {
        let budget = Budget::new(engine.limits().clone());
        let mut by_labels: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        for i in 0..steps {
            let t = start + i as i64 * step_ns;
            for (l, v) in metadata::volume(engine.days(), &sel, t - step_ns, t, &targets, limit, &budget)? {
                by_labels.entry(l).or_default().push((t, v));
            }
        }
        Ok(by_labels)
    })
    .await?;
    let result: Vec<Value> = series
        .iter()
        .map(|(l, points)| {
            json!({
                "metric": labels_json(l),
                "values": points.iter().map(|(t, v)| json!([*t as f64 / 1e9, format_float(*v)])).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(
        json!({"status": "success", "data": {"resultType": "matrix", "result": result}}),
    ))
}
