//! Turning one scraped body into appended samples, as Prometheus's scrape
//! loop does: target labels merged (`honor_labels`), `metric_relabel_configs`,
//! limits, timestamps, staleness markers for vanished series and the report
//! series (`up`, `scrape_duration_seconds`, …). Nothing of a failed scrape
//! is committed except its report and staleness markers. Exemplars go to
//! the exemplar store once the samples they came with are committed, under
//! their sample's final (relabeled) series labels.

use std::time::Duration;

use crate::config::RelabelConfig;
use crate::model::{Labels, LabelsBuilder, METRIC_NAME, STALE_NAN};
use crate::tsdb::{AppendError, Appender, Exemplar, ExemplarAppender, SeriesRef, Storage};

use super::client::Fetched;
use super::error::ScrapeFailure;
use super::label_limit::LabelLimit;
use super::metadata::{MetadataBuilder, MetricMetadata};
use super::metrics::ScrapeMetrics;
use super::series_cache::{ScrapedSeries, SeriesCache, SeriesKey};
use crate::exposition::{Entry, Format, ParsedSample, Parser};
use crate::relabel::relabel;

/// The per-job settings that shape how samples are stored.
#[derive(Clone, Debug, Default)]
pub struct ScrapeOptions {
    pub honor_labels: bool,
    pub honor_timestamps: bool,
    pub metric_relabel_configs: Vec<RelabelConfig>,
    pub sample_limit: u64,
    pub label_limit: u64,
    pub label_name_length_limit: u64,
    pub label_value_length_limit: u64,
}

impl ScrapeOptions {
    pub fn from_job(job: &crate::config::ScrapeConfig) -> Self {
        ScrapeOptions {
            honor_labels: job.honor_labels,
            honor_timestamps: job.honor_timestamps,
            metric_relabel_configs: job.metric_relabel_configs.clone(),
            sample_limit: job.sample_limit,
            label_limit: job.label_limit,
            label_name_length_limit: job.label_name_length_limit,
            label_value_length_limit: job.label_value_length_limit,
        }
    }
}

/// The names of the report series written after every scrape.
pub const REPORT_SERIES: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// Where one target's samples go and how they are shaped.
#[derive(Clone, Copy)]
pub struct Sink<'a> {
    pub storage: &'a dyn Storage,
    pub target: &'a Labels,
    pub opts: &'a ScrapeOptions,
    pub metrics: &'a ScrapeMetrics,
    /// Where exemplars go; `None` drops them.
    pub exemplars: Option<&'a dyn ExemplarAppender>,
}

/// The outcome of one scrape, for the target's health and metadata.
#[derive(Debug)]
pub struct ScrapeResult {
    pub error: Option<ScrapeFailure>,
    /// `None` when the scrape failed (the previous metadata stays).
    pub metadata: Option<Vec<MetricMetadata>>,
}

struct BodyOutcome {
    scraped: usize,
    post_relabel: usize,
    current: ScrapedSeries,
    metadata: Vec<MetricMetadata>,
    /// Exemplars of stored samples, kept once the commit succeeds.
    exemplars: Vec<(Labels, Exemplar)>,
}

/// Stores one scrape: the body's samples, staleness markers and the report
/// series, all at `ts` (the scrape's start, in ms). Blocking: the commit
/// writes the WAL, so call it off the async executor.
pub fn store_scrape(
    sink: &Sink<'_>,
    fetched: Result<Fetched, ScrapeFailure>,
    ts: i64,
    duration: Duration,
    cache: &mut SeriesCache,
) -> ScrapeResult {
    let Sink {
        storage,
        target,
        metrics,
        ..
    } = *sink;
    metrics.scrapes.inc();
    let (failure, scraped) = match fetched {
        Ok(f) => {
            let format = Format::from_content_type(f.content_type.as_deref());
            let mut app = storage.appender();
            match append_body(app.as_mut(), &f.body, format, ts, sink, cache) {
                Ok(body) => {
                    let series_added = body.current.num_added();
                    for r in cache.gone(&body.current) {
                        append_known(app.as_mut(), r, ts, STALE_NAN, metrics);
                    }
                    let report = [
                        1.0,
                        duration.as_secs_f64(),
                        body.scraped as f64,
                        body.post_relabel as f64,
                    ];
                    append_report(app.as_mut(), target, &report, series_added as f64, ts, metrics);
                    match app.commit() {
                        Ok(_) => {
                            cache.replace(body.current);
                            store_exemplars(sink, body.exemplars);
                            return ScrapeResult {
                                error: None,
                                metadata: Some(body.metadata),
                            };
                        }
                        Err(e) => (ScrapeFailure::Storage(e), body.scraped),
                    }
                }
                Err((failure, scraped)) => {
                    app.rollback();
                    (failure, scraped)
                }
            }
        }
        Err(failure) => (failure, 0),
    };
    metrics.failures.inc();
    match &failure {
        ScrapeFailure::SampleLimit { .. } => metrics.sample_limit_exceeded.inc(),
        ScrapeFailure::LabelLimit { limit, .. } => metrics.label_limit(*limit).inc(),
        ScrapeFailure::BodySizeLimit { .. } => metrics.body_size_limit_exceeded.inc(),
        _ => {}
    }
    // As Prometheus: a failed scrape makes every series of the last good
    // one stale, and the report says up=0.
    let mut app = storage.appender();
    for r in cache.all() {
        append_known(app.as_mut(), r, ts, STALE_NAN, metrics);
    }
    append_report(
        app.as_mut(),
        target,
        &[0.0, duration.as_secs_f64(), scraped as f64, 0.0],
        0.0,
        ts,
        metrics,
    );
    if let Err(e) = app.commit() {
        tracing::warn!(target = %target, "cannot store the report of a failed scrape: {e}");
    }
    cache.clear();
    ScrapeResult {
        error: Some(failure),
        metadata: None,
    }
}

/// Writes staleness markers for everything a stopped target last reported
/// (its series and its report series).
pub fn store_end_of_run(
    storage: &dyn Storage,
    target: &Labels,
    cache: &SeriesCache,
    ts: i64,
    metrics: &ScrapeMetrics,
) {
    let mut app = storage.appender();
    for r in cache.all() {
        append_known(app.as_mut(), r, ts, STALE_NAN, metrics);
    }
    for name in REPORT_SERIES {
        append_counted(app.as_mut(), &report_labels(target, name), ts, STALE_NAN, metrics);
    }
    if let Err(e) = app.commit() {
        tracing::warn!(target = %target, "cannot store staleness markers of a stopped target: {e}");
    }
}

fn store_exemplars(sink: &Sink<'_>, exemplars: Vec<(Labels, Exemplar)>) {
    let Some(store) = sink.exemplars else {
        return;
    };
    for (series, exemplar) in exemplars {
        // The store counts every refusal in its metrics.
        if let Err(e) = store.append_exemplar(&series, exemplar) {
            tracing::debug!(target = %sink.target, series = %series, "exemplar not kept: {e}");
        }
    }
}

fn append_report(
    app: &mut dyn Appender,
    target: &Labels,
    values: &[f64; 4],
    series_added: f64,
    ts: i64,
    metrics: &ScrapeMetrics,
) {
    let all = [values[0], values[1], values[2], values[3], series_added];
    for (name, v) in REPORT_SERIES.iter().zip(all) {
        append_counted(app, &report_labels(target, name), ts, v, metrics);
    }
}

fn report_labels(target: &Labels, name: &str) -> Labels {
    let mut b = target.builder();
    b.set(METRIC_NAME, name);
    b.build()
}

fn append_counted(app: &mut dyn Appender, labels: &Labels, ts: i64, v: f64, metrics: &ScrapeMetrics) -> bool {
    append_cached(app, None, labels, ts, v, metrics).is_some()
}

/// Appends by `cached` when given, by labels when not or when the store no
/// longer knows that ref; returns the series' ref, or `None` if the sample
/// was refused (and counted).
fn append_cached(
    app: &mut dyn Appender,
    cached: Option<SeriesRef>,
    labels: &Labels,
    ts: i64,
    v: f64,
    metrics: &ScrapeMetrics,
) -> Option<SeriesRef> {
    if let Some(r) = cached {
        match app.append_ref(r, ts, v) {
            Ok(()) => return Some(r),
            Err(AppendError::UnknownSeriesRef) => {}
            Err(e) => {
                metrics.count_append_error(&e);
                return None;
            }
        }
    }
    match app.append(labels, ts, v) {
        Ok(r) => Some(r),
        Err(e) => {
            metrics.count_append_error(&e);
            None
        }
    }
}

/// [`append_cached`] for a series of the cache (staleness markers): its
/// labels are spelled out only if the store no longer knows the ref.
/// Appends a staleness marker to a cached series by its ref. A ref the
/// store no longer knows belongs to a series retention dropped, which has
/// no recent sample to mark stale.
fn append_known(app: &mut dyn Appender, r: SeriesRef, ts: i64, v: f64, metrics: &ScrapeMetrics) {
    match app.append_ref(r, ts, v) {
        Ok(()) | Err(AppendError::UnknownSeriesRef) => {}
        Err(e) => metrics.count_append_error(&e),
    }
}

/// Parses the body and appends its samples. On error, returns the failure
/// and how many samples were parsed before it; the caller rolls back.
fn append_body(
    app: &mut dyn Appender,
    body: &[u8],
    format: Format,
    ts: i64,
    sink: &Sink<'_>,
    cache: &SeriesCache,
) -> Result<BodyOutcome, (ScrapeFailure, usize)> {
    let Sink {
        target,
        opts,
        metrics,
        ..
    } = *sink;
    let mut scraped = 0usize;
    let mut post_relabel = 0usize;
    let mut current = ScrapedSeries::default();
    let mut metadata = MetadataBuilder::default();
    let mut exemplars = Vec::new();
    for entry in Parser::new(body, format) {
        let sample = match entry {
            Err(e) => return Err((ScrapeFailure::Parse(e), scraped)),
            Ok(Entry::Help { family, text }) => {
                metadata.help(&family, &text);
                continue;
            }
            Ok(Entry::Type { family, kind }) => {
                metadata.kind(&family, kind);
                continue;
            }
            Ok(Entry::Unit { family, unit }) => {
                metadata.unit(&family, &unit);
                continue;
            }
            Ok(Entry::Sample(s)) => s,
        };
        scraped += 1;
        let merged = merge_target_labels(&sample, target, opts.honor_labels);
        let Some(labels) = relabel(&merged, &opts.metric_relabel_configs) else {
            continue;
        };
        if labels.is_empty() {
            continue;
        }
        post_relabel += 1;
        if opts.sample_limit > 0 && post_relabel as u64 > opts.sample_limit {
            return Err((
                ScrapeFailure::SampleLimit {
                    limit: opts.sample_limit,
                },
                scraped,
            ));
        }
        check_label_limits(&labels, opts).map_err(|f| (f, scraped))?;
        let explicit_ts = sample.timestamp_ms.filter(|_| opts.honor_timestamps);
        let stored = if let Some(t) = explicit_ts {
            // Not cached (never marked stale), as in Prometheus.
            append_counted(app, &labels, t, sample.value, metrics)
        } else {
            let key = SeriesKey::new(labels.identity_hash());
            let cached = cache.get(key);
            let r = append_cached(app, cached, &labels, ts, sample.value, metrics);
            if let Some(r) = r {
                current.record(cache, key, r);
            }
            r.is_some()
        };
        if stored
            && sink.exemplars.is_some()
            && let Some(e) = &sample.exemplar
        {
            exemplars.push((labels, scraped_exemplar(e, explicit_ts.unwrap_or(ts))));
        }
    }
    Ok(BodyOutcome {
        scraped,
        post_relabel,
        current,
        metadata: metadata.finish(),
        exemplars,
    })
}

/// An exemplar without its own timestamp takes its sample's, as in
/// Prometheus.
fn scraped_exemplar(e: &crate::exposition::ParsedExemplar<'_>, sample_ts: i64) -> Exemplar {
    let mut b = LabelsBuilder::new();
    for (name, value) in &e.labels {
        b.set(name, value);
    }
    Exemplar {
        labels: b.build(),
        value: e.value,
        ts: e.timestamp_ms.unwrap_or(sample_ts),
    }
}

/// Adds the target's labels to a scraped series. With `honor_labels` the
/// scraped value wins; otherwise the target's does and a clashing scraped
/// label is kept as `exported_<name>` (prefixed again while that is taken).
fn merge_target_labels(sample: &ParsedSample<'_>, target: &Labels, honor_labels: bool) -> Labels {
    let mut b = LabelsBuilder::new();
    for (name, value) in &sample.labels {
        b.set(name, value);
    }
    b.set(METRIC_NAME, &sample.name);
    if honor_labels {
        for l in target {
            if b.get(&l.name).is_none_or(str::is_empty) {
                b.set(&l.name, &l.value);
            }
        }
        return b.build();
    }
    let mut conflicts = Vec::new();
    for l in target {
        if let Some(existing) = b.get(&l.name).filter(|v| !v.is_empty()) {
            conflicts.push((l.name.clone(), existing.to_string()));
        }
        b.set(&l.name, &l.value);
    }
    conflicts.sort_by_key(|(name, _)| name.len());
    for (name, value) in conflicts {
        let mut exported = name;
        loop {
            exported = format!("exported_{exported}");
            if b.get(&exported).is_none_or(str::is_empty) {
                b.set(&exported, &value);
                break;
            }
        }
    }
    b.build()
}

fn check_label_limits(labels: &Labels, opts: &ScrapeOptions) -> Result<(), ScrapeFailure> {
    let metric: String = labels.metric_name().unwrap_or("").chars().take(50).collect();
    let fail = |limit: LabelLimit, message: String| Err(ScrapeFailure::LabelLimit { limit, message });
    if opts.label_limit > 0 && labels.len() as u64 > opts.label_limit {
        return fail(
            LabelLimit::Count,
            format!(
                "label_limit exceeded (metric: {metric}, number of labels: {}, limit: {})",
                labels.len(),
                opts.label_limit
            ),
        );
    }
    for l in labels {
        if opts.label_name_length_limit > 0 && l.name.len() as u64 > opts.label_name_length_limit {
            return fail(
                LabelLimit::NameLength,
                format!(
                    "label_name_length_limit exceeded (metric: {metric}, label name: {:.50}, length: {}, limit: {})",
                    l.name,
                    l.name.len(),
                    opts.label_name_length_limit
                ),
            );
        }
        if opts.label_value_length_limit > 0 && l.value.len() as u64 > opts.label_value_length_limit {
            return fail(
                LabelLimit::ValueLength,
                format!(
                    "label_value_length_limit exceeded (metric: {metric}, label name: {:.50}, length: {}, limit: {})",
                    l.name,
                    l.value.len(),
                    opts.label_value_length_limit
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "append_tests.rs"]
mod tests;
