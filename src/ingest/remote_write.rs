//! The Prometheus remote-write 1.0 receiver (`POST /api/v1/write`): header
//! checks, snappy + protobuf decoding under limits, validation, and the
//! append into storage.
//!
//! # Refused samples: how we differ from Prometheus, and why
//! Prometheus's 1.0 receiver skips series with invalid labels (counting
//! them, answering 204), but on the first out-of-order, duplicate or
//! out-of-bounds sample it rolls back the *whole* request and answers 400,
//! so one stale sample loses every good sample sent with it (its own code
//! notes the 1.0 spec wants a 400 "while other samples are potentially
//! written"). We follow that spec note and Prometheus's 2.0 receiver:
//! every acceptable sample is committed, and if any sample or series was
//! refused the call returns [`IngestError::Rejected`] (400, which senders
//! do not retry) carrying the outcome. A re-sent batch never duplicates
//! data: a sample identical to the stored one is accepted silently, and an
//! older one is refused as out of order.
//!
//! # Memory
//! Requests are not decoded into a whole [`prompb::WriteRequest`]: the
//! receiver walks the top-level fields and decodes one label or sample at a
//! time, counting native histograms without materialising them.
//!
//! # Exemplars
//! Kept in the exemplar store, given with
//! [`receive_with_exemplars`], once the request's samples are committed;
//! those of refused series, and those the store refuses (it counts why),
//! are counted in `belfry_remote_write_exemplars_dropped_total`. A packed or empty protobuf field can expand 8–50× when decoded,
//! so whole-message decoding would turn a 32 MiB body into gigabytes.

use bytes::Buf;
use prost::Message;
use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

use crate::model::{Labels, METRIC_NAME, MetricType, now_millis};
use crate::tsdb::{Exemplar, ExemplarAppender, Storage};

use super::append::{append_batch, finish};
use super::error::IngestError;
use super::limits::IngestLimits;
use super::metrics::{IngestMetrics, Source};
use super::outcome::{FamilyMetadata, MAX_METADATA_PER_REQUEST, RejectReason, Rejections, WriteOutcome};
use super::series_labels::series_labels;
use crate::prompb;

/// The media type of remote-write requests.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// The `proto=` parameter of remote-write 1.0.
pub const PROTO_V1: &str = "prometheus.WriteRequest";
/// The `proto=` parameter of remote-write 2.0, which we refuse with 415.
pub const PROTO_V2: &str = "io.prometheus.write.v2.Request";

/// The request headers the receiver looks at; absent ones are `None`.
#[derive(Debug, Default, Clone, Copy)]
pub struct RemoteWriteHeaders<'a> {
    pub content_type: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    /// `X-Prometheus-Remote-Write-Version`.
    pub version: Option<&'a str>,
}

/// One series of a request, validated, with its float samples.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, f64)>,
    pub exemplars: Vec<Exemplar>,
}

/// A decoded request: valid series, and what was refused while decoding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodedWrite {
    pub series: Vec<DecodedSeries>,
    /// Series refused for their labels and samples too far in the future.
    pub rejections: Rejections,
    pub exemplars_dropped: usize,
    pub histograms_dropped: usize,
    pub metadata: Vec<FamilyMetadata>,
}

impl DecodedWrite {
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

/// Checks the headers: remote-write 1.0 over snappy. A missing content
/// type or encoding means 1.0 and snappy, as Prometheus assumes for old
/// senders.
pub fn check_headers(headers: &RemoteWriteHeaders<'_>) -> Result<(), IngestError> {
    if let Some(enc) = headers.content_encoding.map(str::trim).filter(|e| !e.is_empty())
        && !enc.eq_ignore_ascii_case("snappy")
    {
        return Err(IngestError::UnsupportedEncoding {
            encoding: enc.to_string(),
            expected: "snappy",
        });
    }
    let Some(ct) = headers.content_type.map(str::trim).filter(|c| !c.is_empty()) else {
        return check_version(headers.version);
    };
    let mut parts = ct.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(CONTENT_TYPE) {
        return Err(IngestError::UnsupportedContentType {
            content_type: ct.to_string(),
            expected: "application/x-protobuf (Prometheus remote-write 1.0)",
        });
    }
    for param in parts {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("proto") {
            continue;
        }
        let proto = value.trim().trim_matches('"');
        if proto == PROTO_V1 {
            return Ok(());
        }
        return Err(IngestError::UnsupportedProtocol {
            content_type: ct.to_string(),
        });
    }
    check_version(headers.version)
}

/// Without a `proto=` parameter only the version header can say "2.0".
fn check_version(version: Option<&str>) -> Result<(), IngestError> {
    match version.map(str::trim) {
        Some(v) if v.starts_with('2') => Err(IngestError::UnsupportedProtocol {
            content_type: format!("{CONTENT_TYPE} (X-Prometheus-Remote-Write-Version: {v})"),
        }),
        _ => Ok(()),
    }
}

/// Decompresses (one snappy block) and decodes a request body. The snappy
/// header's declared length is checked against the limit before anything
/// is allocated.
pub fn decode_write_request(body: &[u8], limits: &IngestLimits) -> Result<DecodedWrite, IngestError> {
    let declared = snap::raw::decompress_len(body).map_err(|e| IngestError::Snappy(e.to_string()))?;
    if declared > limits.max_decompressed_bytes {
        return Err(IngestError::TooLarge {
            actual: declared as u64,
            limit: limits.max_decompressed_bytes as u64,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| IngestError::Snappy(e.to_string()))?;
    decode_protobuf(&raw, limits, now_millis())
}

/// Decodes an uncompressed `prometheus.WriteRequest`. `now` is the receive
/// time in ms, for the future-timestamp limit.
pub fn decode_protobuf(mut buf: &[u8], limits: &IngestLimits, now: i64) -> Result<DecodedWrite, IngestError> {
    let mut out = DecodedWrite::default();
    let mut budget = SampleBudget {
        used: 0,
        limit: limits.max_samples_per_request,
    };
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(&mut buf).map_err(proto_err("request"))?;
        match (tag, wire_type) {
            (1, WireType::LengthDelimited) => {
                let series = take_delimited(&mut buf, "timeseries")?;
                decode_series(series, limits, now, &mut budget, &mut out)?;
            }
            (3, WireType::LengthDelimited) => {
                let meta = take_delimited(&mut buf, "metadata")?;
                let meta = prompb::MetricMetadata::decode(meta).map_err(proto_err("metadata"))?;
                if out.metadata.len() < MAX_METADATA_PER_REQUEST && !meta.metric_family_name.is_empty() {
                    out.metadata.push(family_metadata(meta));
                }
            }
            (1 | 3, other) => {
                return Err(IngestError::Protobuf(format!(
                    "field {tag} of WriteRequest has wire type {other:?}, expected length-delimited"
                )));
            }
            _ => skip_field(wire_type, tag, &mut buf, DecodeContext::default())
                .map_err(proto_err("request"))?,
        }
    }
    Ok(out)
}

/// Counts samples, exemplars and histograms against the per-request limit
/// as they are decoded, so an oversized request stops early.
struct SampleBudget {
    used: usize,
    limit: usize,
}

impl SampleBudget {
    fn take(&mut self) -> Result<(), IngestError> {
        self.used += 1;
        if self.used > self.limit {
            return Err(IngestError::TooManySamples { limit: self.limit });
        }
        Ok(())
    }
}

fn decode_series(
    mut buf: &[u8],
    limits: &IngestLimits,
    now: i64,
    budget: &mut SampleBudget,
    out: &mut DecodedWrite,
) -> Result<(), IngestError> {
    let mut labels: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut label_entries = 0usize;
    let mut samples: Vec<(i64, f64)> = Vec::new();
    let mut exemplars: Vec<Exemplar> = Vec::new();
    while buf.has_remaining() {
        let (tag, wire_type) = decode_key(&mut buf).map_err(proto_err("timeseries"))?;
        match (tag, wire_type) {
            (1, WireType::LengthDelimited) => {
                let label =
                    prompb::Label::decode(take_delimited(&mut buf, "label")?).map_err(proto_err("label"))?;
                label_entries += 1;
                // Past the limit the series is refused anyway: labels are
                // still parsed (to check the encoding) but only counted.
                if labels.len() < limits.max_labels_per_series {
                    labels.push((label.name, label.value));
                }
            }
            (2, WireType::LengthDelimited) => {
                let sample = prompb::Sample::decode(take_delimited(&mut buf, "sample")?)
                    .map_err(proto_err("sample"))?;
                budget.take()?;
                samples.push((sample.timestamp, sample.value));
            }
            (3, WireType::LengthDelimited) => {
                let e = prompb::Exemplar::decode(take_delimited(&mut buf, "exemplar")?)
                    .map_err(proto_err("exemplar"))?;
                budget.take()?;
                match exemplar(e) {
                    Some(e) => exemplars.push(e),
                    None => out.exemplars_dropped += 1,
                }
            }
            (4, WireType::LengthDelimited) => {
                take_delimited(&mut buf, "histogram")?;
                budget.take()?;
                out.histograms_dropped += 1;
            }
            (1..=4, other) => {
                return Err(IngestError::Protobuf(format!(
                    "field {tag} of TimeSeries has wire type {other:?}, expected length-delimited"
                )));
            }
            _ => skip_field(wire_type, tag, &mut buf, DecodeContext::default())
                .map_err(proto_err("timeseries"))?,
        }
    }
    // A series with only histograms has nothing to store. Prometheus
    // sends each exemplar in a series of its own, without samples: those
    // are kept when their labels are valid, and their refusal (like an
    // exemplar's in Prometheus) never fails the request.
    if samples.is_empty() {
        if !exemplars.is_empty() {
            decode_exemplar_series(&labels, label_entries, limits, exemplars, out);
        }
        return Ok(());
    }
    if label_entries > limits.max_labels_per_series {
        let name = labels
            .iter()
            .find(|(n, _)| n.as_slice() == METRIC_NAME.as_bytes());
        let name = name.map_or("(no name)".into(), |(_, v)| String::from_utf8_lossy(v));
        let detail = || {
            format!(
                "{label_entries} labels (limit {}) in series {name} with {} samples",
                limits.max_labels_per_series,
                samples.len()
            )
        };
        out.rejections
            .add(RejectReason::TooManyLabels, samples.len(), true, detail);
        out.exemplars_dropped += exemplars.len();
        return Ok(());
    }
    let labels = match series_labels(&labels, limits) {
        Ok(labels) => labels,
        Err(problem) => {
            out.rejections
                .add(problem.reason, samples.len(), true, || problem.detail);
            out.exemplars_dropped += exemplars.len();
            return Ok(());
        }
    };
    let max_t = now.saturating_add(limits.max_future_ms());
    let before = samples.len();
    samples.retain(|&(t, _)| t <= max_t);
    if samples.len() < before {
        let detail = || {
            format!(
                "sample for {labels} more than {:?} ahead of the receive time",
                limits.max_future
            )
        };
        out.rejections.add(
            RejectReason::TooFarInFuture,
            before - samples.len(),
            false,
            detail,
        );
    }
    out.series.push(DecodedSeries {
        labels,
        samples,
        exemplars,
    });
    Ok(())
}

/// A series that carries exemplars only.
fn decode_exemplar_series(
    labels: &[(Vec<u8>, Vec<u8>)],
    label_entries: usize,
    limits: &IngestLimits,
    exemplars: Vec<Exemplar>,
    out: &mut DecodedWrite,
) {
    let labels = (label_entries <= limits.max_labels_per_series)
        .then(|| series_labels(labels, limits).ok())
        .flatten();
    match labels {
        Some(labels) => out.series.push(DecodedSeries {
            labels,
            samples: Vec::new(),
            exemplars,
        }),
        None => out.exemplars_dropped += exemplars.len(),
    }
}

/// An exemplar whose labels are UTF-8 with unique names; `None` otherwise.
fn exemplar(e: prompb::Exemplar) -> Option<Exemplar> {
    let mut pairs = Vec::with_capacity(e.labels.len());
    for l in e.labels {
        let name = String::from_utf8(l.name).ok()?;
        let value = String::from_utf8(l.value).ok()?;
        if name.is_empty() {
            return None;
        }
        pairs.push(crate::model::Label::new(name, value));
    }
    let count = pairs.len();
    let labels = Labels::new(pairs);
    if labels.len() != count {
        return None;
    }
    Some(Exemplar {
        labels,
        value: e.value,
        ts: e.timestamp,
    })
}

fn take_delimited<'a>(buf: &mut &'a [u8], what: &str) -> Result<&'a [u8], IngestError> {
    let len = decode_varint(buf).map_err(proto_err(what))?;
    if len > buf.len() as u64 {
        return Err(IngestError::Protobuf(format!(
            "{what} claims {len} bytes but only {} remain",
            buf.len()
        )));
    }
    let (field, rest) = buf.split_at(len as usize);
    *buf = rest;
    Ok(field)
}

fn proto_err(what: &str) -> impl Fn(prost::DecodeError) -> IngestError + '_ {
    move |e| IngestError::Protobuf(format!("in {what}: {e}"))
}

fn family_metadata(meta: prompb::MetricMetadata) -> FamilyMetadata {
    let kind = MetricType::from_remote_write_code(meta.r#type);
    FamilyMetadata {
        family: String::from_utf8_lossy(&meta.metric_family_name).into_owned(),
        kind: kind.as_str(),
        help: String::from_utf8_lossy(&meta.help).into_owned(),
        unit: String::from_utf8_lossy(&meta.unit).into_owned(),
    }
}

/// Appends a decoded request in one batch and commits it. `Ok` means every
/// sample is committed to the WAL; [`IngestError::Rejected`] means the
/// acceptable ones are committed and the rest were refused (see the module
/// notes). Blocking (WAL fsync): call it from `spawn_blocking`.
pub fn apply(
    storage: &dyn Storage,
    decoded: DecodedWrite,
    metrics: &IngestMetrics,
) -> Result<WriteOutcome, IngestError> {
    apply_with_exemplars(storage, None, decoded, metrics)
}

/// [`apply`], handing each stored series' exemplars to `exemplars` after
/// the commit (`None` drops them).
pub fn apply_with_exemplars(
    storage: &dyn Storage,
    exemplars: Option<&dyn ExemplarAppender>,
    decoded: DecodedWrite,
    metrics: &IngestMetrics,
) -> Result<WriteOutcome, IngestError> {
    let DecodedWrite {
        series,
        mut rejections,
        mut exemplars_dropped,
        histograms_dropped,
        metadata,
    } = decoded;
    let batch = append_batch(
        storage,
        series
            .iter()
            .filter(|s| !s.samples.is_empty())
            .map(|s| (&s.labels, s.samples.as_slice())),
        &mut rejections,
    );
    let batch = match batch {
        Ok(batch) => batch,
        Err(err) => {
            let err = IngestError::Storage(err);
            metrics.record_error(Source::RemoteWrite, &err);
            return Err(err);
        }
    };
    for s in series {
        let Some(store) = exemplars else {
            exemplars_dropped += s.exemplars.len();
            continue;
        };
        for e in s.exemplars {
            // The store counts why it refused one.
            if store.append_exemplar(&s.labels, e).is_err() {
                exemplars_dropped += 1;
            }
        }
    }
    let outcome = WriteOutcome {
        samples_appended: batch.accepted,
        series_created: batch.series_created,
        rejections,
        exemplars_dropped,
        histograms_dropped,
        metadata,
    };
    finish(Source::RemoteWrite, outcome, metrics)
}

/// The whole receiver: headers, decode, append. The web handler calls this
/// (in `spawn_blocking`) and maps an error with [`IngestError::http_status`].
pub fn receive(
    storage: &dyn Storage,
    headers: &RemoteWriteHeaders<'_>,
    body: &[u8],
    limits: &IngestLimits,
    metrics: &IngestMetrics,
) -> Result<WriteOutcome, IngestError> {
    receive_with_exemplars(storage, None, headers, body, limits, metrics)
}

/// [`receive`], keeping exemplars in `exemplars`.
pub fn receive_with_exemplars(
    storage: &dyn Storage,
    exemplars: Option<&dyn ExemplarAppender>,
    headers: &RemoteWriteHeaders<'_>,
    body: &[u8],
    limits: &IngestLimits,
    metrics: &IngestMetrics,
) -> Result<WriteOutcome, IngestError> {
    let decoded = check_headers(headers).and_then(|()| decode_write_request(body, limits));
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(err) => {
            tracing::debug!(error = %err, "refused remote-write request");
            metrics.record_error(Source::RemoteWrite, &err);
            return Err(err);
        }
    };
    apply_with_exemplars(storage, exemplars, decoded, metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::error::ErrorKind;
    use crate::ingest::spy_storage::SpyStorage;
    use crate::selfmetrics::Registry;
    use prompb::{Exemplar, Histogram, Label, MetricMetadata, Sample, TimeSeries, WriteRequest};
    use proptest::prelude::*;

    const NOW: i64 = 1_700_000_000_000;

    fn series(pairs: &[(&str, &str)], samples: &[(i64, f64)]) -> TimeSeries {
        TimeSeries {
            labels: pairs.iter().map(|(n, v)| Label::new(n, v)).collect(),
            samples: samples
                .iter()
                .map(|&(timestamp, value)| Sample { value, timestamp })
                .collect(),
            ..TimeSeries::default()
        }
    }

    fn request(ts: Vec<TimeSeries>) -> WriteRequest {
        WriteRequest {
            timeseries: ts,
            metadata: vec![],
        }
    }

    fn decode(req: &WriteRequest) -> Result<DecodedWrite, IngestError> {
        decode_write_request(&prompb::encode_snappy(req).unwrap(), &IngestLimits::default())
    }

    fn headers<'a>(
        ct: Option<&'a str>,
        enc: Option<&'a str>,
        version: Option<&'a str>,
    ) -> RemoteWriteHeaders<'a> {
        RemoteWriteHeaders {
            content_type: ct,
            content_encoding: enc,
            version,
        }
    }

    #[test]
    fn accepts_v1_headers_and_legacy_senders() {
        check_headers(&headers(
            Some("application/x-protobuf"),
            Some("snappy"),
            Some("0.1.0"),
        ))
        .unwrap();
        check_headers(&headers(None, None, None)).unwrap();
        check_headers(&headers(
            Some("Application/X-Protobuf; proto=prometheus.WriteRequest"),
            Some("SNAPPY"),
            None,
        ))
        .unwrap();
    }

    #[test]
    fn refuses_remote_write_2_with_415() {
        let err = check_headers(&headers(
            Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
            Some("snappy"),
            Some("2.0.0"),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedMediaType);
        assert_eq!(err.http_status(), 415);
        assert!(err.to_string().contains("remote-write 1.0"), "{err}");
        let err = check_headers(&headers(Some("application/x-protobuf"), None, Some("2.0.0"))).unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedProtocol { .. }));
    }

    #[test]
    fn refuses_other_content_types_and_encodings() {
        let err = check_headers(&headers(Some("application/json"), None, None)).unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedContentType { .. }), "{err}");
        let err = check_headers(&headers(None, Some("gzip"), None)).unwrap_err();
        assert!(matches!(err, IngestError::UnsupportedEncoding { .. }), "{err}");
        assert_eq!(err.http_status(), 415);
    }

    #[test]
    fn decodes_series_samples_and_metadata() {
        let mut req = request(vec![
            series(
                &[("__name__", "up"), ("job", "node")],
                &[(NOW, 1.0), (NOW + 15_000, 0.0)],
            ),
            series(&[("job", "x"), ("__name__", "other")], &[(NOW, f64::NAN)]),
        ]);
        req.metadata.push(MetricMetadata {
            r#type: MetricType::Counter.remote_write_code(),
            metric_family_name: b"http_requests_total".to_vec(),
            help: b"Requests.".to_vec(),
            unit: vec![],
        });
        let d = decode(&req).unwrap();
        assert_eq!(d.series.len(), 2);
        assert_eq!(
            d.series[0].labels,
            Labels::from_pairs(&[("__name__", "up"), ("job", "node")])
        );
        assert_eq!(d.series[0].samples, vec![(NOW, 1.0), (NOW + 15_000, 0.0)]);
        assert_eq!(d.series[1].labels.metric_name(), Some("other"));
        assert!(d.series[1].samples[0].1.is_nan());
        assert_eq!(d.metadata[0].kind, "counter");
        assert_eq!(d.metadata[0].family, "http_requests_total");
        assert!(d.rejections.is_empty());
    }

    #[test]
    fn counts_and_drops_exemplars_and_histograms() {
        let mut ts = series(&[("__name__", "lat")], &[(NOW, 2.0)]);
        ts.exemplars.push(Exemplar {
            labels: vec![Label::new("trace_id", "abc")],
            value: 1.0,
            timestamp: NOW,
        });
        let mut hist_only = series(&[("__name__", "h")], &[]);
        for _ in 0..3 {
            hist_only.histograms.push(Histogram {
                count: Some(prompb::histogram::Count::CountInt(4)),
                positive_deltas: vec![1, -1, 2],
                timestamp: NOW,
                ..Histogram::default()
            });
        }
        let d = decode(&request(vec![ts, hist_only])).unwrap();
        assert_eq!((d.series[0].exemplars.len(), d.histograms_dropped), (1, 3));
        assert_eq!(d.series.len(), 1, "a histogram-only series has nothing to store");
        let reg = Registry::new();
        let metrics = IngestMetrics::new(&reg);
        let outcome = apply(&SpyStorage::default(), d, &metrics).unwrap();
        assert_eq!(outcome.samples_appended, 1);
        let text = reg.render();
        assert!(
            text.contains("belfry_remote_write_histograms_dropped_total 3"),
            "{text}"
        );
        assert!(
            text.contains("belfry_remote_write_exemplars_dropped_total 1"),
            "{text}"
        );
    }

    #[test]
    fn exemplars_of_stored_series_reach_the_exemplar_store() {
        let exemplar = |trace: &str, t: i64| Exemplar {
            labels: vec![Label::new("trace_id", trace)],
            value: 0.25,
            timestamp: t,
        };
        let mut kept = series(&[("__name__", "lat_bucket"), ("le", "0.5")], &[(NOW, 2.0)]);
        kept.exemplars = vec![exemplar("a", NOW - 10), exemplar("older", NOW - 20)];
        let mut refused = series(&[("__name__", "bad"), ("", "x")], &[(NOW, 1.0)]);
        refused.exemplars.push(exemplar("b", NOW));
        // As Prometheus sends them: an exemplar in a series of its own.
        let mut alone = series(&[("__name__", "lat_bucket"), ("le", "1")], &[]);
        alone.exemplars.push(exemplar("c", NOW));
        let d = decode(&request(vec![kept, refused, alone])).unwrap();
        let reg = Registry::new();
        let store = crate::tsdb::ExemplarStore::new(10, &reg);
        let metrics = IngestMetrics::new(&reg);
        let _ = apply_with_exemplars(&SpyStorage::default(), Some(&store), d, &metrics);
        let all = crate::model::Matcher::new(crate::model::MatchOp::Regex, "__name__", ".+").unwrap();
        let found = store.select(i64::MIN, i64::MAX, &[vec![all]]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].series_labels.get("le"), Some("0.5"));
        assert_eq!(found[0].exemplars.len(), 1);
        assert_eq!(found[0].exemplars[0].labels.get("trace_id"), Some("a"));
        assert_eq!(
            (found[0].exemplars[0].value, found[0].exemplars[0].ts),
            (0.25, NOW - 10)
        );
        assert_eq!(found[1].series_labels.get("le"), Some("1"));
        assert_eq!(found[1].exemplars[0].labels.get("trace_id"), Some("c"));
        // The older one (refused by the store) and the refused series'.
        let text = reg.render();
        assert!(
            text.contains("belfry_remote_write_exemplars_dropped_total 2"),
            "{text}"
        );
        assert!(
            text.contains("belfry_tsdb_exemplar_out_of_order_exemplars_total 1"),
            "{text}"
        );
    }

    #[test]
    fn malformed_snappy_is_a_bad_request() {
        let err = decode_write_request(b"\xff\xff\xff\xff\xff\xff", &IngestLimits::default()).unwrap_err();
        assert!(matches!(err, IngestError::Snappy(_)), "{err}");
        assert_eq!(err.http_status(), 400);
        let err = decode_write_request(b"", &IngestLimits::default()).unwrap_err();
        assert!(matches!(err, IngestError::Snappy(_)), "{err}");
    }

    #[test]
    fn declared_length_is_checked_before_allocating() {
        // A snappy header claiming 1 GiB, followed by nothing.
        let mut body = Vec::new();
        prost::encoding::encode_varint(1 << 30, &mut body);
        let err = decode_write_request(&body, &IngestLimits::default()).unwrap_err();
        assert!(
            matches!(err, IngestError::TooLarge { actual, .. } if actual == 1 << 30),
            "{err}"
        );
        assert_eq!(err.http_status(), 413);
    }

    #[test]
    fn real_oversized_body_is_refused() {
        let big = request(vec![series(&[("__name__", &"x".repeat(2000))], &[(NOW, 1.0)])]);
        let limits = IngestLimits {
            max_decompressed_bytes: 1000,
            ..IngestLimits::default()
        };
        let err = decode_write_request(&prompb::encode_snappy(&big).unwrap(), &limits).unwrap_err();
        assert!(matches!(err, IngestError::TooLarge { limit: 1000, .. }), "{err}");
    }

    #[test]
    fn malformed_protobuf_is_a_bad_request() {
        let compress = |raw: &[u8]| snap::raw::Encoder::new().compress_vec(raw).unwrap();
        // Field 1 as a varint instead of a message.
        let err = decode_write_request(&compress(&[0x08, 0x01]), &IngestLimits::default()).unwrap_err();
        assert!(err.to_string().contains("wire type"), "{err}");
        // A timeseries claiming more bytes than there are.
        let err = decode_write_request(&compress(&[0x0a, 0x10, 0x00]), &IngestLimits::default()).unwrap_err();
        assert!(err.to_string().contains("claims 16 bytes"), "{err}");
        // A truncated varint key.
        let err = decode_write_request(&compress(&[0x80]), &IngestLimits::default()).unwrap_err();
        assert!(matches!(err, IngestError::Protobuf(_)), "{err}");
        // A sample whose double is cut short.
        let err = decode_write_request(
            &compress(&[0x0a, 0x04, 0x12, 0x02, 0x09, 0x00]),
            &IngestLimits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("in sample"), "{err}");
        assert_eq!(err.http_status(), 400);
    }

    #[test]
    fn unknown_fields_are_skipped() {
        // Reserved field 2 (varint 5) before a valid series.
        let valid =
            prost::Message::encode_to_vec(&request(vec![series(&[("__name__", "up")], &[(NOW, 1.0)])]));
        let mut raw = vec![0x10, 0x05];
        raw.extend_from_slice(&valid);
        let d = decode_protobuf(&raw, &IngestLimits::default(), NOW).unwrap();
        assert_eq!(d.sample_count(), 1);
    }

    #[test]
    fn too_many_samples_is_413() {
        let req = request(vec![
            series(&[("__name__", "a")], &[(NOW, 1.0), (NOW + 1, 2.0)]),
            series(&[("__name__", "b")], &[(NOW, 1.0), (NOW + 1, 2.0)]),
        ]);
        let limits = IngestLimits {
            max_samples_per_request: 3,
            ..IngestLimits::default()
        };
        let err = decode_write_request(&prompb::encode_snappy(&req).unwrap(), &limits).unwrap_err();
        assert!(matches!(err, IngestError::TooManySamples { limit: 3 }), "{err}");
        assert_eq!(err.http_status(), 413);
    }

    #[test]
    fn invalid_series_are_refused_and_the_rest_kept() {
        let req = request(vec![
            series(&[("job", "no-name")], &[(NOW, 1.0), (NOW + 1, 1.0)]),
            series(&[("__name__", "dup"), ("a", "1"), ("a", "2")], &[(NOW, 1.0)]),
            series(&[("__name__", "ok")], &[(NOW, 1.0)]),
        ]);
        let d = decode(&req).unwrap();
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.rejections.samples(RejectReason::InvalidLabels), 3);
        assert_eq!(d.rejections.series(RejectReason::InvalidLabels), 2);
        assert!(d.rejections.first.as_deref().unwrap().contains("no metric name"));
    }

    #[test]
    fn label_limits_refuse_the_series() {
        let limits = IngestLimits {
            max_labels_per_series: 2,
            ..IngestLimits::default()
        };
        let req = request(vec![
            series(
                &[("__name__", "m"), ("a", "1"), ("b", "2"), ("c", "3")],
                &[(NOW, 1.0)],
            ),
            series(&[("__name__", "m"), ("a", "1")], &[(NOW, 1.0)]),
        ]);
        let d = decode_write_request(&prompb::encode_snappy(&req).unwrap(), &limits).unwrap();
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.rejections.series(RejectReason::TooManyLabels), 1);
        assert!(
            d.rejections
                .first
                .as_deref()
                .unwrap()
                .contains("4 labels (limit 2)")
        );
    }

    #[test]
    fn future_samples_are_refused() {
        let req = request(vec![series(
            &[("__name__", "m")],
            &[(NOW, 1.0), (NOW + 11 * 60_000, 2.0)],
        )]);
        let raw = prost::Message::encode_to_vec(&req);
        let d = decode_protobuf(&raw, &IngestLimits::default(), NOW).unwrap();
        assert_eq!(d.series[0].samples, vec![(NOW, 1.0)]);
        assert_eq!(d.rejections.samples(RejectReason::TooFarInFuture), 1);
    }

    #[test]
    fn apply_commits_good_samples_and_reports_refused_ones() {
        let storage = SpyStorage::default();
        let reg = Registry::new();
        let metrics = IngestMetrics::new(&reg);
        let up = [("__name__", "up"), ("job", "a")];
        let labels = Labels::from_pairs(&up);
        apply(
            &storage,
            decode(&request(vec![series(&up, &[(NOW, 1.0)])])).unwrap(),
            &metrics,
        )
        .unwrap();

        // One out-of-order, one duplicate with another value, one good, one
        // identical re-send (accepted silently).
        let req = request(vec![series(
            &up,
            &[(NOW - 1, 5.0), (NOW, 2.0), (NOW, 1.0), (NOW + 1000, 3.0)],
        )]);
        let err = apply(&storage, decode(&req).unwrap(), &metrics).unwrap_err();
        assert_eq!(err.http_status(), 400);
        let outcome = err.partial_outcome().unwrap();
        assert_eq!(outcome.samples_appended, 2);
        assert_eq!(outcome.rejections.samples(RejectReason::OutOfOrder), 1);
        assert_eq!(outcome.rejections.samples(RejectReason::Duplicate), 1);
        let msg = err.to_string();
        assert!(msg.starts_with("2 of 4 samples refused"), "{msg}");
        assert!(msg.contains("out of order sample for up{job=\"a\"}"), "{msg}");
        assert_eq!(storage.samples(&labels), vec![(NOW, 1.0), (NOW + 1000, 3.0)]);

        let text = reg.render();
        assert!(
            text.contains(
                "belfry_ingest_samples_rejected_total{source=\"remote_write\",reason=\"out_of_order\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("belfry_ingest_samples_appended_total{source=\"remote_write\"} 3"),
            "{text}"
        );
    }

    #[test]
    fn a_resent_batch_changes_nothing() {
        let storage = SpyStorage::default();
        let metrics = IngestMetrics::new(&Registry::new());
        // One sample per series, the usual shape: a re-send is accepted.
        let req = request(vec![
            series(&[("__name__", "a")], &[(NOW, 1.0)]),
            series(&[("__name__", "b")], &[(NOW, 2.0)]),
        ]);
        apply(&storage, decode(&req).unwrap(), &metrics).unwrap();
        let again = apply(&storage, decode(&req).unwrap(), &metrics).unwrap();
        assert!(again.rejections.is_empty());
        assert_eq!(storage.total_samples(), 2);
        // Several samples per series: the earlier ones are now out of order
        // (400, so the sender stops retrying); storage is unchanged.
        let req = request(vec![series(&[("__name__", "c")], &[(NOW, 1.0), (NOW + 1, 2.0)])]);
        apply(&storage, decode(&req).unwrap(), &metrics).unwrap();
        let err = apply(&storage, decode(&req).unwrap(), &metrics).unwrap_err();
        assert_eq!(
            err.partial_outcome()
                .unwrap()
                .rejections
                .samples(RejectReason::OutOfOrder),
            1
        );
        assert_eq!(storage.total_samples(), 4);
    }

    #[test]
    fn storage_failure_is_a_500_and_acknowledges_nothing() {
        let storage = SpyStorage::default();
        storage
            .fail_commits
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let reg = Registry::new();
        let metrics = IngestMetrics::new(&reg);
        let req = request(vec![series(&[("__name__", "up")], &[(NOW, 1.0)])]);
        let err = apply(&storage, decode(&req).unwrap(), &metrics).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(!err.is_client_error());
        assert_eq!(storage.total_samples(), 0);
        assert!(
            reg.render()
                .contains("belfry_ingest_failures_total{source=\"remote_write\",kind=\"internal\"} 1")
        );
    }

    #[test]
    fn receive_counts_limit_hits() {
        let storage = SpyStorage::default();
        let reg = Registry::new();
        let metrics = IngestMetrics::new(&reg);
        let limits = IngestLimits {
            max_samples_per_request: 1,
            ..IngestLimits::default()
        };
        let req = request(vec![series(&[("__name__", "up")], &[(NOW, 1.0), (NOW + 1, 1.0)])]);
        let body = prompb::encode_snappy(&req).unwrap();
        let err = receive(&storage, &RemoteWriteHeaders::default(), &body, &limits, &metrics).unwrap_err();
        assert_eq!(err.http_status(), 413);
        let text = reg.render();
        assert!(
            text.contains(
                "belfry_ingest_limit_hits_total{source=\"remote_write\",limit=\"samples_per_request\"} 1"
            ),
            "{text}"
        );
        let ok = receive(
            &storage,
            &RemoteWriteHeaders::default(),
            &body,
            &IngestLimits::default(),
            &metrics,
        )
        .unwrap();
        assert_eq!(ok.samples_appended, 2);
    }

    fn label_name() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_.]{0,12}"
    }

    fn arb_series() -> impl Strategy<Value = TimeSeries> {
        (
            "[a-z_:][a-z0-9_:.]{0,15}",
            prop::collection::btree_map(label_name(), "\\PC{1,12}", 0..5),
            prop::collection::vec((-1_000_000i64..NOW, any::<f64>()), 1..20),
            0usize..3,
        )
            .prop_map(|(name, labels, samples, exemplars)| {
                let mut labels: Vec<Label> = labels
                    .into_iter()
                    .filter(|(n, _)| n != "__name__")
                    .map(|(n, v)| Label::new(&n, &v))
                    .collect();
                labels.push(Label::new("__name__", &name));
                TimeSeries {
                    labels,
                    samples: samples
                        .into_iter()
                        .map(|(timestamp, value)| Sample { value, timestamp })
                        .collect(),
                    exemplars: (0..exemplars).map(|_| Exemplar::default()).collect(),
                    histograms: vec![],
                }
            })
    }

    proptest! {
        #[test]
        fn random_requests_round_trip(ts in prop::collection::vec(arb_series(), 0..8)) {
            let req = request(ts.clone());
            let d = decode(&req).unwrap();
            prop_assert!(d.rejections.is_empty());
            prop_assert_eq!(d.series.len(), ts.len());
            let kept: usize = d.series.iter().map(|s| s.exemplars.len()).sum();
            prop_assert_eq!(d.exemplars_dropped + kept, ts.iter().map(|t| t.exemplars.len()).sum::<usize>());
            for (got, sent) in d.series.iter().zip(&ts) {
                let pairs: Vec<(String, String)> = sent
                    .labels
                    .iter()
                    .map(|l| (String::from_utf8(l.name.clone()).unwrap(), String::from_utf8(l.value.clone()).unwrap()))
                    .collect();
                let refs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                prop_assert_eq!(&got.labels, &Labels::from_pairs(&refs));
                prop_assert_eq!(got.samples.len(), sent.samples.len());
                for (&(t, v), s) in got.samples.iter().zip(&sent.samples) {
                    prop_assert_eq!(t, s.timestamp);
                    // proto3 does not encode a default (== 0.0) value, so -0.0 arrives as 0.0.
                    let sent = if s.value == 0.0 { 0.0f64 } else { s.value };
                    prop_assert_eq!(v.to_bits(), sent.to_bits());
                }
            }
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_write_request(&body, &IngestLimits::default());
            let _ = decode_protobuf(&body, &IngestLimits::default(), NOW);
            if let Ok(compressed) = snap::raw::Encoder::new().compress_vec(&body) {
                let _ = decode_write_request(&compressed, &IngestLimits::default());
            }
        }

        #[test]
        fn corrupted_valid_requests_never_panic(
            ts in prop::collection::vec(arb_series(), 1..4),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut raw = prost::Message::encode_to_vec(&request(ts));
            for (i, b) in flips {
                let at = i.index(raw.len());
                raw[at] = b;
            }
            let _ = decode_protobuf(&raw, &IngestLimits::default(), NOW);
        }
    }
}
