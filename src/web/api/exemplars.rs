//! `/api/v1/query_exemplars`: the exemplars of the series a query's
//! selectors pick, in Prometheus's shape. The query is parsed, not
//! evaluated: every vector and matrix selector in it selects series, as
//! Prometheus does.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Number, Value, json};

use crate::model::Labels;
use crate::promql::{extract_selectors, format_sample_value, parse};
use crate::tsdb::{Exemplar, SeriesExemplars};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::success;

pub async fn query_exemplars(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<Response, ApiError> {
    let (start, end) = params.time_range()?;
    let expr = parse(params.get("query").unwrap_or(""))?;
    let sets = extract_selectors(&expr)?;
    if sets.is_empty() {
        // Prometheus answers a query without selectors with no body.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let found = state.exemplars.select(start, end, &sets);
    let data: Vec<Value> = found.iter().map(series_json).collect();
    Ok(success(data, vec![]).into_response())
}

fn series_json(s: &SeriesExemplars) -> Value {
    json!({
        "seriesLabels": labels_json(&s.series_labels),
        "exemplars": s.exemplars.iter().map(exemplar_json).collect::<Vec<_>>(),
    })
}

fn exemplar_json(e: &Exemplar) -> Value {
    json!({
        "labels": labels_json(&e.labels),
        "value": format_sample_value(e.value),
        "timestamp": timestamp_json(e.ts),
    })
}

fn labels_json(l: &Labels) -> Value {
    let map: Map<String, Value> = l
        .iter()
        .map(|l| (l.name.clone(), Value::String(l.value.clone())))
        .collect();
    Value::Object(map)
}

/// Seconds as a JSON number, as Prometheus writes an exemplar's time:
/// `1600096945.479`, or `1600096945` on a whole second.
fn timestamp_json(ms: i64) -> Value {
    if ms.rem_euclid(1000) == 0 {
        return Value::Number(Number::from(ms.div_euclid(1000)));
    }
    Number::from_f64(ms as f64 / 1000.0).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemplars_are_written_in_prometheus_shape() {
        let s = SeriesExemplars {
            series_labels: Labels::from_pairs(&[("__name__", "req_bucket"), ("le", "0.5")]),
            exemplars: vec![
                Exemplar {
                    labels: Labels::from_pairs(&[("trace_id", "abc")]),
                    value: 6.0,
                    ts: 1_600_096_945_479,
                },
                Exemplar {
                    labels: Labels::default(),
                    value: 0.25,
                    ts: 1_600_096_946_000,
                },
            ],
        };
        assert_eq!(
            series_json(&s).to_string(),
            r#"{"exemplars":[{"labels":{"trace_id":"abc"},"timestamp":1600096945.479,"value":"6"},{"labels":{},"timestamp":1600096946,"value":"0.25"}],"seriesLabels":{"__name__":"req_bucket","le":"0.5"}}"#
        );
    }
}
