//! `/federate`: the latest sample of every selected series, in the text
//! format, so another Prometheus can scrape a slice of Belfry.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::model::{Labels, METRIC_NAME, is_stale_nan, now_millis};
use crate::selfmetrics::{escape_label_value, write_float};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::blocking;

/// How far back a sample still counts as current, as PromQL's lookback.
const LOOKBACK_MS: i64 = 5 * 60 * 1000;

pub async fn federate(
    State(state): State<Arc<AppState>>,
    params: Params,
) -> Result<impl IntoResponse, ApiError> {
    let sets = params.match_sets()?;
    let now = params.time("time", now_millis())?;
    let external = state.external_labels.read().clone();
    let storage = state.storage.clone();
    let latest = blocking(move || {
        let querier = storage.querier();
        // Keyed by (metric name, labels) so each family prints together.
        let mut latest: BTreeMap<(String, Labels), (i64, f64)> = BTreeMap::new();
        for set in &sets {
            for mut s in querier.select(set, now - LOOKBACK_MS, now)? {
                let mut last = None;
                while let Some(sample) = s.samples.next() {
                    last = Some(sample);
                }
                let Some((t, v)) = last else { continue };
                if is_stale_nan(v) {
                    continue;
                }
                let name = s.labels.metric_name().unwrap_or_default().to_string();
                latest.insert((name, s.labels), (t, v));
            }
        }
        Ok(latest)
    })
    .await?;

    let mut out = String::new();
    let mut current_family: Option<&str> = None;
    for ((name, labels), (t, v)) in &latest {
        if current_family != Some(name.as_str()) {
            out.push_str(&format!("# TYPE {name} untyped\n"));
            current_family = Some(name.as_str());
        }
        write_federated_line(&mut out, name, labels, &external, *t, *v);
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        out,
    ))
}

/// One line; external labels fill in names the series lacks, as Prometheus
/// does, so federated data keeps its origin.
fn write_federated_line(out: &mut String, name: &str, labels: &Labels, external: &Labels, t: i64, v: f64) {
    let mut merged = labels.builder();
    for l in external {
        if labels.get(&l.name).is_none() {
            merged.set(&l.name, &l.value);
        }
    }
    out.push_str(name);
    out.push('{');
    let mut first = true;
    for l in merged.build().iter().filter(|l| l.name != METRIC_NAME) {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&l.name);
        out.push_str("=\"");
        out.push_str(&escape_label_value(&l.value));
        out.push('"');
    }
    out.push_str("} ");
    write_float(out, v);
    out.push(' ');
    out.push_str(&t.to_string());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_missing_external_labels_and_escapes() {
        let mut out = String::new();
        let labels = Labels::from_pairs(&[("__name__", "up"), ("job", "a\"b"), ("site", "x")]);
        let external = Labels::from_pairs(&[("site", "ext"), ("region", "eu")]);
        write_federated_line(&mut out, "up", &labels, &external, 1000, 1.0);
        assert_eq!(out, "up{job=\"a\\\"b\",region=\"eu\",site=\"x\"} 1 1000\n");
    }
}
