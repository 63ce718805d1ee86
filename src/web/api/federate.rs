//! `/federate`: the latest sample of every selected series, in the text
//! format, so another Prometheus can scrape a slice of Belfry. Names outside
//! the classic charset (ingest accepts UTF-8 names) are written quoted, as
//! Prometheus 3 writes them: `{"my.metric","label.x"="v"}`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::model::{Labels, METRIC_NAME, is_stale_nan, now_millis};
use crate::model::{is_legacy_label_name, is_legacy_metric_name};
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
            out.push_str("# TYPE ");
            push_name(&mut out, name, is_legacy_metric_name(name));
            out.push_str(" untyped\n");
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
    // A name outside the classic charset cannot stand before the braces:
    // it goes inside them, quoted, as the first item.
    let mut first = true;
    if is_legacy_metric_name(name) {
        out.push_str(name);
        out.push('{');
    } else {
        out.push('{');
        push_name(out, name, false);
        first = false;
    }
    for l in merged.build().iter().filter(|l| l.name != METRIC_NAME) {
        if !first {
            out.push(',');
        }
        first = false;
        // Label names are checked against the label charset, stricter than
        // the metric one: `a:b` is quoted, as no parser reads it bare there.
        push_name(out, &l.name, is_legacy_label_name(&l.name));
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

/// A metric or label name: bare when `bare`, else quoted with the escapes
/// of a label value (`\\`, `\"`, `\n`).
fn push_name(out: &mut String, name: &str, bare: bool) {
    if bare {
        out.push_str(name);
        return;
    }
    out.push('"');
    out.push_str(&escape_label_value(name));
    out.push('"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::exposition::{Entry, Format, Parser};

    #[test]
    fn adds_missing_external_labels_and_escapes() {
        let mut out = String::new();
        let labels = Labels::from_pairs(&[("__name__", "up"), ("job", "a\"b"), ("site", "x")]);
        let external = Labels::from_pairs(&[("site", "ext"), ("region", "eu")]);
        write_federated_line(&mut out, "up", &labels, &external, 1000, 1.0);
        assert_eq!(out, "up{job=\"a\\\"b\",region=\"eu\",site=\"x\"} 1 1000\n");
    }

    #[test]
    fn utf8_names_are_quoted_inside_the_braces() {
        let mut out = String::new();
        let labels = Labels::from_pairs(&[("__name__", "my.metric"), ("label.x", "v"), ("ok", "w")]);
        write_federated_line(&mut out, "my.metric", &labels, &Labels::default(), 7, 1.0);
        assert_eq!(out, "{\"my.metric\",\"label.x\"=\"v\",ok=\"w\"} 1 7\n");

        // A classic metric name stays outside; only the odd label is quoted,
        // with the escapes of a label value.
        let mut out = String::new();
        let labels = Labels::from_pairs(&[("__name__", "m"), ("a:b", "1"), ("q\"\\\n", "2")]);
        write_federated_line(&mut out, "m", &labels, &Labels::default(), 7, 1.0);
        assert_eq!(out, "m{\"a:b\"=\"1\",\"q\\\"\\\\\\n\"=\"2\"} 1 7\n");
    }

    /// What the text-format parser reads back from one federated family.
    fn parse_back(text: &str) -> Vec<(Labels, f64, Option<i64>)> {
        Parser::new(text.as_bytes(), Format::PrometheusText)
            .filter_map(|e| match e.unwrap_or_else(|err| panic!("{err} in {text:?}")) {
                Entry::Sample(s) => {
                    let mut pairs: Vec<(&str, &str)> =
                        s.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
                    pairs.push(("__name__", s.name.as_ref()));
                    Some((Labels::from_pairs(&pairs), s.value, s.timestamp_ms))
                }
                _ => None,
            })
            .collect()
    }

    fn family(name: &str, labels: &Labels, t: i64, v: f64) -> String {
        let mut out = String::from("# TYPE ");
        push_name(&mut out, name, is_legacy_metric_name(name));
        out.push_str(" untyped\n");
        write_federated_line(&mut out, name, labels, &Labels::default(), t, v);
        out
    }

    #[test]
    fn our_parser_reads_quoted_names_back() {
        let labels = Labels::from_pairs(&[("__name__", "my.metric"), ("label.x", "v\"\n\\"), ("é", "ü")]);
        let text = family("my.metric", &labels, 1234, 2.5);
        assert_eq!(parse_back(&text), vec![(labels, 2.5, Some(1234))]);
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z_][a-zA-Z0-9_]{0,8}",
            "[a-z:][a-z0-9:_]{0,6}",
            "[a-z.\\-/ \"\\\\\n{}=,#é😀]{1,8}",
        ]
    }

    proptest! {
        /// Whatever names and values ingest accepted, the federated line
        /// parses back to the same series, value and timestamp.
        #[test]
        fn federated_lines_parse_back_identically(
            metric in name(),
            pairs in proptest::collection::btree_map(name(), "(?s).{0,12}", 0..4),
            v in prop_oneof![any::<f64>(), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
            // Our parser, as Prometheus's, reads no negative timestamps.
            t in 0..=i64::MAX,
        ) {
            prop_assume!(!v.is_nan());
            let mut b = crate::model::LabelsBuilder::new();
            for (n, val) in &pairs {
                if n != METRIC_NAME && !val.is_empty() {
                    b.set(n, val);
                }
            }
            b.set(METRIC_NAME, &metric);
            let labels = b.build();
            let text = family(&metric, &labels, t, v);
            prop_assert_eq!(parse_back(&text), vec![(labels, v, Some(t))], "{}", text);
        }
    }
}
