//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query` and
//! `/api/v1/parse_query` in Prometheus's JSON shapes. Evaluation runs on the
//! blocking pool; dropping the request (client gone) cancels the query.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Map, Value as Json, json};

use crate::config::PromDuration;
use crate::model::Labels;
use crate::model::now_millis;
use crate::promql::{
    Engine, PromqlError, QueryControl, QueryOutput, Value, format_float, format_sample_value,
};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

/// Cancels the query when the handler's future is dropped, which is what
/// axum does when the client disconnects.
struct CancelOnDrop(QueryControl);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn engine(state: &AppState) -> Engine {
    // Counters are registered once by name, so building the engine per
    // request shares them.
    Engine::new(state.query_options.clone(), &state.registry)
}

/// A duration parameter: float seconds or a Prometheus duration (`5m`).
fn parse_duration_param(key: &str, s: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::BadData(format!(
            "invalid parameter \"{key}\": cannot parse {s:?} to a valid duration"
        ))
    };
    if let Ok(secs) = s.parse::<f64>() {
        let ms = secs * 1000.0;
        if !ms.is_finite() || ms >= i64::MAX as f64 || ms <= i64::MIN as f64 {
            return Err(ApiError::BadData(format!(
                "invalid parameter \"{key}\": cannot parse {s:?} to a valid duration. It overflows int64"
            )));
        }
        return Ok(ms.round() as i64);
    }
    let ms = PromDuration::parse(s)
        .map_err(|_| bad())?
        .as_duration()
        .as_millis();
    i64::try_from(ms).map_err(|_| bad())
}

fn labels_json(l: &Labels) -> Json {
    let mut m = Map::new();
    for lab in l.iter() {
        m.insert(lab.name.clone(), Json::String(lab.value.clone()));
    }
    Json::Object(m)
}

fn point(t: i64, v: f64) -> Json {
    json!([t as f64 / 1000.0, format_sample_value(v)])
}

/// `data` of a query response; `limit` caps the number of series.
fn result_json(value: &Value, t: i64, limit: Option<usize>) -> (Json, bool) {
    let cap = limit.unwrap_or(usize::MAX);
    match value {
        // Prometheus marshals a scalar with plain 'f' formatting, vector and
        // matrix samples with the exponent form for tiny and huge values.
        Value::Scalar(v) => (
            json!({"resultType": "scalar", "result": [t as f64 / 1000.0, format_float(*v)]}),
            false,
        ),
        Value::String(s) => (
            json!({"resultType": "string", "result": [t as f64 / 1000.0, s]}),
            false,
        ),
        Value::Vector(v) => {
            let out: Vec<Json> = v
                .iter()
                .take(cap)
                .map(|s| json!({"metric": labels_json(&s.labels), "value": point(t, s.v)}))
                .collect();
            (json!({"resultType": "vector", "result": out}), v.len() > cap)
        }
        Value::Matrix(m) => {
            let out: Vec<Json> = m
                .iter()
                .take(cap)
                .map(|s| {
                    let values: Vec<Json> = s.points.iter().map(|p| point(p.0, p.1)).collect();
                    json!({"metric": labels_json(&s.labels), "values": values})
                })
                .collect();
            (json!({"resultType": "matrix", "result": out}), m.len() > cap)
        }
    }
}

fn respond(out: QueryOutput, t: i64, limit: Option<usize>, stats: bool) -> axum::Json<Json> {
    let (mut data, truncated) = result_json(&out.value, t, limit);
    if stats {
        data["stats"] = json!({
            "timings": {"evalTotalTime": out.stats.eval_time.as_secs_f64()},
            "samples": {
                "totalQueryableSamples": out.stats.total_samples_loaded,
                "peakSamples": out.stats.peak_samples,
            },
        });
    }
    let mut warnings = out.annotations.warnings;
    if truncated {
        warnings.push("results truncated due to limit".into());
    }
    let mut body = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    if !out.annotations.infos.is_empty() {
        body["infos"] = json!(out.annotations.infos);
    }
    axum::Json(body)
}

fn query_param(params: &Params) -> Result<String, ApiError> {
    match params.get("query") {
        Some(q) if !q.trim().is_empty() => Ok(q.to_string()),
        _ => Err(ApiError::BadData(
            "invalid parameter \"query\": query must not be empty".into(),
        )),
    }
}

fn control(params: &Params, engine: &Engine) -> Result<QueryControl, ApiError> {
    let max = engine.options().timeout;
    let timeout = match params.get("timeout") {
        None | Some("") => max,
        Some(s) => {
            let ms = parse_duration_param("timeout", s)?;
            if ms <= 0 {
                return Err(ApiError::BadData(
                    "invalid parameter \"timeout\": timeout must be positive".into(),
                ));
            }
            Duration::from_millis(ms as u64).min(max)
        }
    };
    Ok(QueryControl::with_timeout(timeout))
}

/// Prometheus names the parameter in parse errors of `/query` and
/// `/query_range` (`invalid parameter "query": 1:5: parse error: ...`).
fn query_error(e: PromqlError) -> ApiError {
    match e {
        PromqlError::Parse(_) => ApiError::BadData(format!("invalid parameter \"query\": {e}")),
        e => ApiError::Promql(e),
    }
}

pub async fn query(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let q = query_param(&params)?;
    let t = params.time("time", now_millis())?;
    let limit = params.limit()?;
    let stats = params.get("stats").is_some_and(|s| !s.is_empty());
    let engine = engine(&state);
    let ctl = control(&params, &engine)?;
    let guard = CancelOnDrop(ctl.clone());
    let storage = state.storage.clone();
    let out = tokio::task::spawn_blocking(move || {
        let querier = storage.querier();
        engine.instant_query(querier.as_ref(), &q, t, &ctl)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))?
    .map_err(query_error)?;
    drop(guard);
    Ok(respond(out, t, limit, stats))
}

pub async fn query_range(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let q = query_param(&params)?;
    let start = params.time("start", i64::MIN)?;
    let end = params.time("end", i64::MIN)?;
    if start == i64::MIN {
        return Err(ApiError::BadData("invalid parameter \"start\": missing".into()));
    }
    if end == i64::MIN {
        return Err(ApiError::BadData("invalid parameter \"end\": missing".into()));
    }
    if end < start {
        return Err(ApiError::BadData(
            "invalid parameter \"end\": end timestamp must not be before start time".into(),
        ));
    }
    let step = match params.get("step") {
        None | Some("") => return Err(ApiError::BadData("invalid parameter \"step\": missing".into())),
        Some(s) => parse_duration_param("step", s)?,
    };
    if step <= 0 {
        return Err(ApiError::BadData(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
        ));
    }
    let limit = params.limit()?;
    let stats = params.get("stats").is_some_and(|s| !s.is_empty());
    let engine = engine(&state);
    let ctl = control(&params, &engine)?;
    let guard = CancelOnDrop(ctl.clone());
    let storage = state.storage.clone();
    let out = tokio::task::spawn_blocking(move || {
        let querier = storage.querier();
        engine.range_query(querier.as_ref(), &q, start, end, step, &ctl)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))?
    .map_err(query_error)?;
    drop(guard);
    Ok(respond(out, start, limit, stats))
}

pub async fn format_query(params: Params) -> Result<impl IntoResponse, ApiError> {
    let q = query_param(&params)?;
    let expr = Engine::parse(&q)?;
    Ok(super::success(expr.prettify(), vec![]))
}

pub async fn parse_query(params: Params) -> Result<impl IntoResponse, ApiError> {
    let q = query_param(&params)?;
    let expr = Engine::parse(&q)?;
    let ast = serde_json::to_value(&expr)
        .map_err(|e| ApiError::Internal(format!("serializing the syntax tree: {e}")))?;
    Ok(super::success(ast, vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_both_ways() {
        assert_eq!(parse_duration_param("step", "15").unwrap(), 15_000);
        assert_eq!(parse_duration_param("step", "0.5").unwrap(), 500);
        assert_eq!(parse_duration_param("step", "1m30s").unwrap(), 90_000);
        assert!(parse_duration_param("step", "abc").is_err());
        assert!(parse_duration_param("step", "1e300").is_err());
    }

    #[test]
    fn results_have_prometheus_shapes() {
        let v = Value::Vector(vec![crate::promql::Sample {
            labels: Labels::from_pairs(&[("__name__", "up")]),
            t: 1500,
            v: 1.0,
        }]);
        let (j, truncated) = result_json(&v, 1500, None);
        assert!(!truncated);
        assert_eq!(
            j,
            json!({"resultType": "vector", "result": [{"metric": {"__name__": "up"}, "value": [1.5, "1"]}]})
        );
        let (j, _) = result_json(&Value::Scalar(f64::INFINITY), 0, None);
        assert_eq!(j["result"][1], "+Inf");
    }
}
