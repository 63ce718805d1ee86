//! `/api/v1/query`, `/api/v1/query_range`, `/api/v1/format_query` and
//! `/api/v1/parse_query` in Prometheus's JSON shapes. Parameters are checked
//! by `promql`'s own checks (`RangeSpec`, `timeout_param`); evaluation runs
//! on the blocking pool; dropping the request (client gone) cancels the
//! query.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value as Json, json};

use crate::model::now_millis;
use crate::model::{FloatHistogram, Labels};
use crate::promql::{
    Engine, PromqlError, QueryControl, QueryOutput, RangeSpec, Value, duration_param, format_float,
    format_sample_value, timeout_param, write_sample_value,
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

/// A duration parameter in ms, as the query endpoints read `step` and
/// `timeout` (the fuzz target drives this entry point).
#[doc(hidden)]
pub fn parse_duration_param(key: &'static str, s: &str) -> Result<i64, ApiError> {
    duration_param(key, s).map_err(|e| PromqlError::from(e).into())
}

/// A JSON string literal.
fn push_str(out: &mut String, s: &str) {
    // Writing a `str` as JSON cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

fn push_labels(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, lab) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_str(out, &lab.name);
        out.push(':');
        push_str(out, &lab.value);
    }
    out.push('}');
}

/// A timestamp in seconds as Prometheus writes it: integer seconds, then
/// `.` and three digits when there are milliseconds.
fn push_time(out: &mut String, t: i64) {
    if t < 0 {
        out.push('-');
    }
    let abs = t.unsigned_abs();
    push_decimal(out, abs / 1000, 1);
    if !abs.is_multiple_of(1000) {
        out.push('.');
        push_decimal(out, abs % 1000, 3);
    }
}

/// `n` in decimal with at least `width` digits (zero-padded), without the
/// formatting machinery: a range query's answer writes a time per point.
fn push_decimal(out: &mut String, mut n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    while n > 0 || digits.len() - i < width {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

fn push_point(out: &mut String, t: i64, value: &str) {
    out.push('[');
    push_time(out, t);
    out.push_str(",\"");
    out.push_str(value);
    out.push_str("\"]");
}

/// `[t, {"count":…,"sum":…,"buckets":[[rule,"lower","upper","count"],…]}]`
/// as Prometheus writes a native-histogram point: empty buckets left out,
/// `rule` 0 for `(a,b]`, 1 for `[a,b)`, 2 for `(a,b)`, 3 for `[a,b]`.
fn push_histogram_point(out: &mut String, t: i64, h: &FloatHistogram) {
    out.push('[');
    push_time(out, t);
    out.push_str(",{\"count\":\"");
    out.push_str(&format_sample_value(h.count));
    out.push_str("\",\"sum\":\"");
    out.push_str(&format_sample_value(h.sum));
    out.push('"');
    let mut first = true;
    for b in h.buckets().into_iter().filter(|b| b.count != 0.0) {
        out.push_str(if first { ",\"buckets\":[" } else { "," });
        first = false;
        let rule = match (b.lower_inclusive, b.upper_inclusive) {
            (false, true) => 0,
            (true, false) => 1,
            (false, false) => 2,
            (true, true) => 3,
        };
        out.push('[');
        out.push_str(&rule.to_string());
        for v in [b.lower, b.upper, b.count] {
            out.push_str(",\"");
            out.push_str(&format_sample_value(v));
            out.push('"');
        }
        out.push(']');
    }
    if !first {
        out.push(']');
    }
    out.push_str("}]");
}

/// A point of a vector or matrix sample, its value in the API's form.
fn push_sample_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    push_time(out, t);
    out.push_str(",\"");
    write_sample_value(out, v);
    out.push_str("\"]");
}

/// `{"resultType":...,"result":...` of a query response, written straight
/// into a string (a matrix can hold millions of points); `limit` caps the
/// number of series. Returns whether the result was truncated.
fn push_result(out: &mut String, value: &Value, t: i64, limit: Option<usize>) -> bool {
    let cap = limit.unwrap_or(usize::MAX);
    match value {
        // Prometheus marshals a scalar with plain 'f' formatting, vector and
        // matrix samples with the exponent form for tiny and huge values.
        Value::Scalar(v) => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":");
            push_point(out, t, &format_float(*v));
            false
        }
        Value::String(s) => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            push_time(out, t);
            out.push(',');
            push_str(out, s);
            out.push(']');
            false
        }
        Value::Vector(v) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":[");
            for (i, s) in v.iter().take(cap).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(out, &s.labels);
                match &s.h {
                    Some(h) => {
                        out.push_str(",\"histogram\":");
                        push_histogram_point(out, t, h);
                    }
                    None => {
                        out.push_str(",\"value\":");
                        push_sample_point(out, t, s.v);
                    }
                }
                out.push('}');
            }
            out.push(']');
            v.len() > cap
        }
        Value::Matrix(m) => {
            out.push_str("{\"resultType\":\"matrix\",\"result\":[");
            for (i, s) in m.iter().take(cap).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"metric\":");
                push_labels(out, &s.labels);
                // As Prometheus: each list only when it has points.
                if !s.points.is_empty() || s.histograms.is_empty() {
                    out.push_str(",\"values\":[");
                    for (j, p) in s.points.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        push_sample_point(out, p.0, p.1);
                    }
                    out.push(']');
                }
                if !s.histograms.is_empty() {
                    out.push_str(",\"histograms\":[");
                    for (j, (t, h)) in s.histograms.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        push_histogram_point(out, *t, h);
                    }
                    out.push(']');
                }
                out.push('}');
            }
            out.push(']');
            m.len() > cap
        }
    }
}

/// The whole success body: `data` (with `stats` when asked), `warnings`
/// and `infos`.
fn render(out: QueryOutput, t: i64, limit: Option<usize>, stats: bool) -> String {
    let mut body = String::with_capacity(4096);
    body.push_str("{\"status\":\"success\",\"data\":");
    let truncated = push_result(&mut body, &out.value, t, limit);
    if stats {
        let stats = json!({
            "timings": {"evalTotalTime": out.stats.eval_time.as_secs_f64()},
            "samples": {
                "totalQueryableSamples": out.stats.total_samples_loaded,
                "peakSamples": out.stats.peak_samples,
            },
        });
        body.push_str(",\"stats\":");
        body.push_str(&stats.to_string());
    }
    body.push('}');
    let mut warnings = out.annotations.warnings;
    if truncated {
        warnings.push("results truncated due to limit".into());
    }
    if !warnings.is_empty() {
        body.push_str(",\"warnings\":");
        body.push_str(&Json::from(warnings).to_string());
    }
    if !out.annotations.infos.is_empty() {
        body.push_str(",\"infos\":");
        body.push_str(&Json::from(out.annotations.infos).to_string());
    }
    body.push('}');
    body
}

fn json_response(body: String) -> axum::response::Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
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
    let timeout =
        timeout_param(params.get("timeout"), engine.options().timeout).map_err(PromqlError::from)?;
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
        engine
            .instant_query(querier.as_ref(), &q, t, &ctl)
            .map(|out| render(out, t, limit, stats))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))?
    .map_err(query_error)?;
    drop(guard);
    Ok(json_response(out))
}

pub async fn query_range(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let q = query_param(&params)?;
    let spec = RangeSpec::parse(
        params.get("start"),
        params.get("end"),
        params.get("step"),
        state.query_options.max_points_per_series,
    )
    .map_err(PromqlError::from)?;
    let limit = params.limit()?;
    let stats = params.get("stats").is_some_and(|s| !s.is_empty());
    let engine = engine(&state);
    let ctl = control(&params, &engine)?;
    let guard = CancelOnDrop(ctl.clone());
    let storage = state.storage.clone();
    let out = tokio::task::spawn_blocking(move || {
        let querier = storage.querier();
        engine
            .checked_range_query(querier.as_ref(), &q, spec, &ctl)
            .map(|out| render(out, spec.start, limit, stats))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("query task failed: {e}")))?
    .map_err(query_error)?;
    drop(guard);
    Ok(json_response(out))
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
    fn results_have_prometheus_shapes() {
        let shape = |v: &Value, t: i64| {
            let mut s = String::new();
            let truncated = push_result(&mut s, v, t, None);
            s.push('}');
            (serde_json::from_str::<Json>(&s).unwrap(), truncated)
        };
        let v = Value::Vector(vec![crate::promql::Sample {
            labels: Labels::from_pairs(&[("__name__", "up"), ("a\"b", "c\\d")]),
            t: 1500,
            v: 1.0,
            h: None,
        }]);
        let (j, truncated) = shape(&v, 1500);
        assert!(!truncated);
        assert_eq!(
            j,
            json!({"resultType": "vector", "result": [{"metric": {"__name__": "up", "a\"b": "c\\d"}, "value": [1.5, "1"]}]})
        );
        let (j, _) = shape(&Value::Scalar(f64::INFINITY), 0);
        assert_eq!(j["result"][1], "+Inf");
        let m = Value::Matrix(vec![crate::promql::Series {
            labels: Labels::default(),
            points: vec![(-1050, 1e-7), (2000, 2.5)],
            histograms: Vec::new(),
        }]);
        let (j, _) = shape(&m, 0);
        assert_eq!(j["result"][0]["values"], json!([[-1.05, "1e-07"], [2, "2.5"]]));
    }

    #[test]
    fn native_histograms_have_prometheus_shapes() {
        use crate::model::Span;
        let h = Arc::new(FloatHistogram {
            count: 5.0,
            sum: 7.5,
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive_spans: vec![Span { offset: 0, length: 2 }],
            positive_buckets: vec![3.0, 0.0],
            negative_spans: vec![Span { offset: 1, length: 1 }],
            negative_buckets: vec![1.0],
            ..FloatHistogram::default()
        });
        let mut out = String::new();
        push_result(
            &mut out,
            &Value::Vector(vec![crate::promql::Sample {
                labels: Labels::default(),
                t: 1000,
                v: 0.0,
                h: Some(h.clone()),
            }]),
            1000,
            None,
        );
        out.push('}');
        let j: Json = serde_json::from_str(&out).unwrap();
        assert_eq!(
            j["result"][0]["histogram"],
            json!([1, {"count": "5", "sum": "7.5", "buckets": [
                [1, "-2", "-1", "1"],
                [3, "-0.001", "0.001", "1"],
                [0, "0.5", "1", "3"]
            ]}])
        );
        assert!(j["result"][0].get("value").is_none());

        let mut out = String::new();
        push_result(
            &mut out,
            &Value::Matrix(vec![crate::promql::Series {
                labels: Labels::default(),
                points: Vec::new(),
                histograms: vec![(2000, h)],
            }]),
            0,
            None,
        );
        out.push('}');
        let j: Json = serde_json::from_str(&out).unwrap();
        assert!(j["result"][0].get("values").is_none());
        assert_eq!(j["result"][0]["histograms"][0][0], json!(2));
    }

    #[test]
    fn times_are_written_as_prometheus_writes_them() {
        let t = |ms: i64| {
            let mut s = String::new();
            push_time(&mut s, ms);
            s
        };
        assert_eq!(t(1_700_000_600_000), "1700000600");
        assert_eq!(t(1_700_000_600_050), "1700000600.050");
        assert_eq!(t(-1500), "-1.500");
        assert_eq!(t(0), "0");
    }
}
