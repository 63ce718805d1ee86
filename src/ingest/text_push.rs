//! Text-format push (`POST /api/v1/import/prometheus`): a Prometheus text
//! or OpenMetrics body, optionally gzip-compressed, stored as one batch.
//! Samples without a timestamp get the receive time; `extra_label`
//! query parameters (as VictoriaMetrics takes them) are added to every
//! series, replacing a label of the same name.
//!
//! The whole body is parsed before anything is appended, so a malformed
//! body stores nothing. Refused samples (labels, limits, order) follow the
//! remote-write rule: the rest is committed and the call returns
//! [`IngestError::Rejected`].

use std::collections::BTreeMap;
use std::io::Read;

use crate::exposition::{Entry, Format, Parser};
use crate::model::{Label, Labels, METRIC_NAME, now_millis};
use crate::tsdb::Storage;

use super::append::{append_batch, finish};
use super::error::IngestError;
use super::limits::IngestLimits;
use super::metrics::{IngestMetrics, Source};
use super::outcome::{FamilyMetadata, MAX_METADATA_PER_REQUEST, PushOutcome, RejectReason, Rejections};
use super::series_labels::series_labels;

/// Parses one `extra_label` query value, `name=value`.
pub fn parse_extra_label(given: &str) -> Result<Label, IngestError> {
    let bad = |reason: &str| IngestError::ExtraLabel {
        given: given.to_string(),
        reason: reason.to_string(),
    };
    let Some((name, value)) = given.split_once('=') else {
        return Err(bad("expected name=value"));
    };
    if name.is_empty() {
        return Err(bad("empty label name"));
    }
    if name == METRIC_NAME {
        return Err(bad("the metric name cannot be set by an extra label"));
    }
    Ok(Label::new(name, value))
}

/// Parses and stores a pushed body. `content_type` picks the format
/// (OpenMetrics for `application/openmetrics-text`, else the text format);
/// `content_encoding` may be `gzip`. Blocking (WAL fsync): call it from
/// `spawn_blocking`.
pub fn push_text(
    storage: &dyn Storage,
    body: &[u8],
    content_type: Option<&str>,
    content_encoding: Option<&str>,
    extra_labels: &[Label],
    limits: &IngestLimits,
    metrics: &IngestMetrics,
) -> Result<PushOutcome, IngestError> {
    let result = decompress(body, content_encoding, limits).and_then(|body| {
        parse_body(
            &body,
            Format::from_content_type(content_type),
            extra_labels,
            limits,
        )
    });
    let parsed = match result {
        Ok(parsed) => parsed,
        Err(err) => {
            tracing::debug!(error = %err, "refused text-format push");
            metrics.record_error(Source::TextPush, &err);
            return Err(err);
        }
    };
    let ParsedBody {
        samples,
        mut rejections,
        metadata,
    } = parsed;
    let batch = append_batch(
        storage,
        samples
            .iter()
            .map(|(labels, tv)| (labels, std::slice::from_ref(tv))),
        &mut rejections,
    );
    let batch = match batch {
        Ok(batch) => batch,
        Err(err) => {
            let err = IngestError::Storage(err);
            metrics.record_error(Source::TextPush, &err);
            return Err(err);
        }
    };
    let outcome = PushOutcome {
        samples_appended: batch.accepted,
        series_created: batch.series_created,
        rejections,
        metadata: metadata.into_values().collect(),
        ..PushOutcome::default()
    };
    finish(Source::TextPush, outcome, metrics)
}

/// The body as stored: gunzipped under the size limit, or as sent.
fn decompress<'a>(
    body: &'a [u8],
    encoding: Option<&str>,
    limits: &IngestLimits,
) -> Result<std::borrow::Cow<'a, [u8]>, IngestError> {
    let limit = limits.max_decompressed_bytes;
    let too_large = |actual: usize| IngestError::TooLarge {
        actual: actual as u64,
        limit: limit as u64,
    };
    match encoding.map(str::trim).filter(|e| !e.is_empty()) {
        None => {}
        Some(e) if e.eq_ignore_ascii_case("identity") => {}
        Some(e) if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") => {
            let mut out = Vec::new();
            // Read one byte past the limit to tell "exactly at" from "over".
            flate2::read::MultiGzDecoder::new(body)
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| IngestError::Gzip(e.to_string()))?;
            if out.len() > limit {
                return Err(too_large(out.len()));
            }
            return Ok(out.into());
        }
        Some(other) => {
            return Err(IngestError::UnsupportedEncoding {
                encoding: other.to_string(),
                expected: "gzip or no encoding",
            });
        }
    }
    if body.len() > limit {
        return Err(too_large(body.len()));
    }
    Ok(body.into())
}

struct ParsedBody {
    /// In body order, one entry per sample.
    samples: Vec<(Labels, (i64, f64))>,
    rejections: Rejections,
    metadata: BTreeMap<String, FamilyMetadata>,
}

fn parse_body(
    body: &[u8],
    format: Format,
    extra_labels: &[Label],
    limits: &IngestLimits,
) -> Result<ParsedBody, IngestError> {
    let now = now_millis();
    let max_t = now.saturating_add(limits.max_future_ms());
    let mut out = ParsedBody {
        samples: Vec::new(),
        rejections: Rejections::default(),
        metadata: BTreeMap::new(),
    };
    for entry in Parser::new(body, format) {
        let entry = entry.map_err(|e| IngestError::Parse {
            path: None,
            line: e.line,
            column: e.column,
            message: e.message,
        })?;
        let sample = match entry {
            Entry::Sample(sample) => sample,
            Entry::Help { family, text } => {
                if let Some(m) = metadata_entry(&mut out.metadata, &family) {
                    m.help = text.into_owned();
                }
                continue;
            }
            Entry::Type { family, kind } => {
                if let Some(m) = metadata_entry(&mut out.metadata, &family) {
                    m.kind = kind.as_str();
                }
                continue;
            }
            Entry::Unit { family, unit } => {
                if let Some(m) = metadata_entry(&mut out.metadata, &family) {
                    m.unit = unit.into_owned();
                }
                continue;
            }
        };
        if out.samples.len() + out.rejections.total_samples() >= limits.max_samples_per_request {
            return Err(IngestError::TooManySamples {
                limit: limits.max_samples_per_request,
            });
        }
        let mut pairs = Vec::with_capacity(sample.labels.len() + 1 + extra_labels.len());
        pairs.push((METRIC_NAME, sample.name.as_ref()));
        for (name, value) in &sample.labels {
            if !extra_labels.iter().any(|l| l.name == *name) {
                pairs.push((name.as_ref(), value.as_ref()));
            }
        }
        pairs.extend(extra_labels.iter().map(|l| (l.name.as_str(), l.value.as_str())));
        let labels = match series_labels(&pairs, limits) {
            Ok(labels) => labels,
            Err(problem) => {
                out.rejections.add(problem.reason, 1, true, || problem.detail);
                continue;
            }
        };
        let t = sample.timestamp_ms.unwrap_or(now);
        if t > max_t {
            let detail = || {
                format!(
                    "sample for {labels} at {t} is more than {:?} ahead of now",
                    limits.max_future
                )
            };
            out.rejections.add(RejectReason::TooFarInFuture, 1, false, detail);
            continue;
        }
        out.samples.push((labels, (t, sample.value)));
    }
    Ok(out)
}

fn metadata_entry<'m>(
    map: &'m mut BTreeMap<String, FamilyMetadata>,
    family: &str,
) -> Option<&'m mut FamilyMetadata> {
    if !map.contains_key(family) && map.len() >= MAX_METADATA_PER_REQUEST {
        return None;
    }
    Some(map.entry(family.to_string()).or_insert_with(|| FamilyMetadata {
        family: family.to_string(),
        kind: "unknown",
        help: String::new(),
        unit: String::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::error::ErrorKind;
    use crate::ingest::spy_storage::SpyStorage;
    use crate::selfmetrics::Registry;
    use std::io::Write;

    fn push(
        storage: &SpyStorage,
        body: &[u8],
        ct: Option<&str>,
        extra: &[Label],
    ) -> Result<PushOutcome, IngestError> {
        let metrics = IngestMetrics::new(&Registry::new());
        push_text(storage, body, ct, None, extra, &IngestLimits::default(), &metrics)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn stores_samples_with_and_without_timestamps() {
        let storage = SpyStorage::default();
        let before = now_millis();
        let body = b"# HELP jobs_total Jobs run.\n# TYPE jobs_total counter\njobs_total{queue=\"a\"} 3\nlast_run 42 1700000000000\n";
        let outcome = push(&storage, body, Some("text/plain; version=0.0.4"), &[]).unwrap();
        assert_eq!(outcome.samples_appended, 2);
        let jobs = storage.samples(&Labels::from_pairs(&[("__name__", "jobs_total"), ("queue", "a")]));
        assert_eq!(jobs.len(), 1);
        assert!(
            jobs[0].0 >= before && jobs[0].0 <= now_millis(),
            "receive time used"
        );
        assert_eq!(jobs[0].1, 3.0);
        let last = storage.samples(&Labels::from_pairs(&[("__name__", "last_run")]));
        assert_eq!(last, vec![(1_700_000_000_000, 42.0)]);
        let meta = &outcome.metadata[0];
        assert_eq!(
            (meta.family.as_str(), meta.kind, meta.help.as_str()),
            ("jobs_total", "counter", "Jobs run.")
        );
    }

    #[test]
    fn reads_openmetrics_by_content_type() {
        let storage = SpyStorage::default();
        let body = b"# TYPE t gauge\nt 1 1700000000.5\n# EOF\n";
        push(
            &storage,
            body,
            Some("application/openmetrics-text; version=1.0.0"),
            &[],
        )
        .unwrap();
        assert_eq!(
            storage.samples(&Labels::from_pairs(&[("__name__", "t")])),
            vec![(1_700_000_000_500, 1.0)]
        );
        // The same body as the text format is malformed ("# EOF" is a comment
        // there, but the float timestamp is not an integer).
        let err = push(&SpyStorage::default(), body, None, &[]).unwrap_err();
        assert!(matches!(err, IngestError::Parse { line: 2, .. }), "{err}");
    }

    #[test]
    fn malformed_body_names_line_and_column_and_stores_nothing() {
        let storage = SpyStorage::default();
        let body = b"good 1\nalso_good{a=\"b\"} 2\nbad{a=\"b\" 3\n";
        let err = push(&storage, body, None, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest);
        let IngestError::Parse { line, column, .. } = &err else {
            panic!("expected a parse error, got {err}");
        };
        assert_eq!(*line, 3);
        assert!(*column > 1, "{err}");
        assert!(err.to_string().starts_with("line 3, column "), "{err}");
        assert_eq!(
            storage.total_samples(),
            0,
            "nothing from a malformed body is stored"
        );
    }

    #[test]
    fn extra_labels_are_added_and_override() {
        let storage = SpyStorage::default();
        let extra = [
            parse_extra_label("job=push").unwrap(),
            parse_extra_label("env=prod").unwrap(),
        ];
        push(&storage, b"m{job=\"orig\",x=\"1\"} 5 1000\n", None, &extra).unwrap();
        let want = Labels::from_pairs(&[("__name__", "m"), ("env", "prod"), ("job", "push"), ("x", "1")]);
        assert_eq!(storage.samples(&want), vec![(1000, 5.0)]);
    }

    #[test]
    fn bad_extra_labels_are_refused() {
        assert!(matches!(
            parse_extra_label("novalue"),
            Err(IngestError::ExtraLabel { .. })
        ));
        assert!(
            parse_extra_label("=x")
                .unwrap_err()
                .to_string()
                .contains("empty label name")
        );
        assert!(parse_extra_label("__name__=x").is_err());
        assert_eq!(parse_extra_label("a=b=c").unwrap(), Label::new("a", "b=c"));
    }

    #[test]
    fn gzip_bodies_are_decompressed_under_the_limit() {
        let storage = SpyStorage::default();
        let metrics = IngestMetrics::new(&Registry::new());
        let body = gzip(b"g 1 1000\n");
        push_text(
            &storage,
            &body,
            None,
            Some("gzip"),
            &[],
            &IngestLimits::default(),
            &metrics,
        )
        .unwrap();
        assert_eq!(storage.total_samples(), 1);

        let bomb = gzip(&vec![b'#'; 100_000]);
        let limits = IngestLimits {
            max_decompressed_bytes: 10_000,
            ..IngestLimits::default()
        };
        let err = push_text(&storage, &bomb, None, Some("gzip"), &[], &limits, &metrics).unwrap_err();
        assert!(
            matches!(err, IngestError::TooLarge { limit: 10_000, .. }),
            "{err}"
        );
        assert_eq!(err.http_status(), 413);

        let err = push_text(&storage, b"not gzip", None, Some("gzip"), &[], &limits, &metrics).unwrap_err();
        assert!(matches!(err, IngestError::Gzip(_)), "{err}");
        let err = push_text(&storage, b"g 1", None, Some("br"), &[], &limits, &metrics).unwrap_err();
        assert_eq!(err.http_status(), 415);
        let err = push_text(&storage, &vec![b'\n'; 10_001], None, None, &[], &limits, &metrics).unwrap_err();
        assert!(matches!(err, IngestError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn refused_samples_keep_the_rest() {
        let storage = SpyStorage::default();
        push(&storage, b"m 1 2000\n", None, &[]).unwrap();
        let reg = Registry::new();
        let metrics = IngestMetrics::new(&reg);
        let limits = IngestLimits {
            max_labels_per_series: 2,
            ..IngestLimits::default()
        };
        let body = b"m 0 1000\nwide{a=\"1\",b=\"2\"} 1 1000\nok 1 1000\n";
        let err = push_text(&storage, body, None, None, &[], &limits, &metrics).unwrap_err();
        let outcome = err.partial_outcome().unwrap();
        assert_eq!(outcome.samples_appended, 1);
        assert_eq!(outcome.rejections.samples(RejectReason::OutOfOrder), 1);
        assert_eq!(outcome.rejections.samples(RejectReason::TooManyLabels), 1);
        assert_eq!(
            storage.samples(&Labels::from_pairs(&[("__name__", "ok")])),
            vec![(1000, 1.0)]
        );
        let text = reg.render();
        assert!(
            text.contains(
                "belfry_ingest_limit_hits_total{source=\"text_push\",limit=\"labels_per_series\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn sample_limit_is_413() {
        let metrics = IngestMetrics::new(&Registry::new());
        let limits = IngestLimits {
            max_samples_per_request: 2,
            ..IngestLimits::default()
        };
        let storage = SpyStorage::default();
        let err = push_text(&storage, b"a 1\nb 1\nc 1\n", None, None, &[], &limits, &metrics).unwrap_err();
        assert!(matches!(err, IngestError::TooManySamples { limit: 2 }), "{err}");
        assert_eq!(storage.total_samples(), 0);
    }

    #[test]
    fn storage_failure_is_internal() {
        let storage = SpyStorage::default();
        storage
            .fail_commits
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let err = push(&storage, b"a 1\n", None, &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
    }
}
