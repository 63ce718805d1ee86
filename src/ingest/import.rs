//! File import (`belfry import FILE`): backfills a Prometheus text or
//! OpenMetrics file whose samples all carry timestamps.
//!
//! The file is read twice, a block at a time (memory stays bounded by one
//! block plus one batch, whatever the file size). The first pass parses and
//! validates everything; only if the whole file is valid does the second
//! pass write, in batches of [`ImportOptions::batch_samples`] samples
//! grouped per series, through [`Storage::backfill`]. So a malformed file
//! stores nothing, and its error names the file, line and column. (Parsing
//! is cheap next to writing, so the second read costs little.) Should
//! storage fail during the second pass, earlier batches stay written;
//! running the import again is safe, because samples that collide with
//! stored ones are skipped and counted, never duplicated.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::model::{Labels, METRIC_NAME};
use crate::scrape::parse::{Entry, Format, ParsedSample, Parser};
use crate::tsdb::Storage;

use super::error::IngestError;
use super::file_blocks::{Block, FileBlocks};
use super::limits::IngestLimits;
use super::metrics::{IngestMetrics, Source};
use super::series_labels::series_labels;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Label limits apply as for pushes; `max_line_bytes` bounds a line.
    pub limits: IngestLimits,
    /// Samples buffered (grouped per series) before one `backfill` call.
    pub batch_samples: usize,
    /// Bytes of the file parsed at a time.
    pub block_bytes: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            limits: IngestLimits::default(),
            batch_samples: 1_000_000,
            block_bytes: 8 << 20,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub format: Format,
    /// Samples in the file (OpenMetrics `_created` lines are not samples).
    pub samples_read: usize,
    pub samples_written: usize,
    /// Samples not written: storage already had one at that time, or the
    /// file itself repeats a series' timestamp (the first one wins).
    pub samples_skipped: usize,
    /// Distinct series in the file.
    pub series: usize,
    /// Series storage did not have before.
    pub series_created: usize,
    /// `backfill` calls made.
    pub batches: usize,
}

/// Guesses the format: a file whose last line is `# EOF` is OpenMetrics.
pub fn guess_format(path: &Path) -> Result<Format, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(64))).map_err(io)?;
    let mut tail = Vec::with_capacity(64);
    file.read_to_end(&mut tail).map_err(io)?;
    if tail.trim_ascii_end().ends_with(b"# EOF") {
        return Ok(Format::OpenMetrics);
    }
    Ok(Format::PrometheusText)
}

/// Validates the whole file, then backfills it. `format` comes from the
/// `--format` flag; `None` guesses it. Blocking: run it off the async
/// executor.
pub fn import_file(
    path: &Path,
    format: Option<Format>,
    storage: &dyn Storage,
    options: &ImportOptions,
    metrics: &IngestMetrics,
) -> Result<ImportReport, IngestError> {
    let result = run_import(path, format, storage, options, metrics);
    if let Err(err) = &result {
        metrics.record_error(Source::Import, err);
    }
    result
}

fn run_import(
    path: &Path,
    format: Option<Format>,
    storage: &dyn Storage,
    options: &ImportOptions,
    metrics: &IngestMetrics,
) -> Result<ImportReport, IngestError> {
    let format = match format {
        Some(format) => format,
        None => guess_format(path)?,
    };
    let samples_read = for_each_sample(path, format, options, |_, _, _| Ok(()))?;
    tracing::info!(path = %path.display(), samples = samples_read, "import file is valid, writing");

    let mut writer = BatchWriter {
        storage,
        metrics,
        batch_samples: options.batch_samples.max(1),
        buffered: HashMap::new(),
        buffered_samples: 0,
        seen_series: HashSet::new(),
        report: ImportReport {
            format,
            samples_read,
            samples_written: 0,
            samples_skipped: 0,
            series: 0,
            series_created: 0,
            batches: 0,
        },
    };
    for_each_sample(path, format, options, |labels, t, v| writer.add(labels, t, v))?;
    writer.flush()?;
    writer.report.series = writer.seen_series.len();
    Ok(writer.report)
}

/// Parses the file block by block, validating each sample and handing it
/// to `on_sample`. Returns the number of samples.
fn for_each_sample(
    path: &Path,
    format: Format,
    options: &ImportOptions,
    mut on_sample: impl FnMut(Labels, i64, f64) -> Result<(), IngestError>,
) -> Result<usize, IngestError> {
    let limits = &options.limits;
    let mut blocks = FileBlocks::open(path, format, options.block_bytes, limits.max_line_bytes)?;
    let mut count = 0usize;
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    while let Some(block) = blocks.next_block()? {
        for entry in Parser::new(&block.text, format) {
            let entry = entry.map_err(|e| IngestError::Parse {
                path: Some(path.to_path_buf()),
                line: block.file_line(e.line),
                column: e.column,
                message: e.message,
            })?;
            let Entry::Sample(sample) = entry else {
                continue;
            };
            let Some(t) = sample.timestamp_ms else {
                return Err(IngestError::MissingTimestamp {
                    path: Some(path.to_path_buf()),
                    line: sample_line(&block, &sample),
                    series: describe(&sample),
                });
            };
            pairs.clear();
            pairs.push((METRIC_NAME, &sample.name));
            pairs.extend(sample.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())));
            let labels = series_labels(&pairs, limits).map_err(|problem| IngestError::InvalidSeries {
                path: Some(path.to_path_buf()),
                line: sample_line(&block, &sample),
                reason: problem.detail,
            })?;
            on_sample(labels, t, sample.value)?;
            count += 1;
        }
    }
    Ok(count)
}

/// The file line of a sample, from any part the parser borrowed.
fn sample_line(block: &Block, sample: &ParsedSample<'_>) -> Option<usize> {
    std::iter::once(sample.name.as_ref())
        .chain(sample.labels.iter().flat_map(|(n, v)| [n.as_ref(), v.as_ref()]))
        .find_map(|part| block.line_of(part))
}

fn describe(sample: &ParsedSample<'_>) -> String {
    let pairs: Vec<(&str, &str)> = std::iter::once((METRIC_NAME, sample.name.as_ref()))
        .chain(sample.labels.iter().map(|(n, v)| (n.as_ref(), v.as_ref())))
        .collect();
    Labels::from_pairs(&pairs).to_string()
}

/// Buffers samples per series and writes them in bounded batches.
struct BatchWriter<'a> {
    storage: &'a dyn Storage,
    metrics: &'a IngestMetrics,
    batch_samples: usize,
    buffered: HashMap<Labels, Vec<(i64, f64)>>,
    buffered_samples: usize,
    /// Stable hashes of every series seen, for the report's series count.
    seen_series: HashSet<u64>,
    report: ImportReport,
}

impl BatchWriter<'_> {
    fn add(&mut self, labels: Labels, t: i64, v: f64) -> Result<(), IngestError> {
        self.seen_series.insert(labels.stable_hash());
        self.buffered.entry(labels).or_default().push((t, v));
        self.buffered_samples += 1;
        if self.buffered_samples >= self.batch_samples {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        if self.buffered_samples == 0 {
            return Ok(());
        }
        let mut skipped_in_file = 0usize;
        let batch: Vec<(Labels, Vec<(i64, f64)>)> = self
            .buffered
            .drain()
            .map(|(labels, mut samples)| {
                // Stable: among samples at one timestamp the first in the
                // file is kept.
                samples.sort_by_key(|&(t, _)| t);
                let before = samples.len();
                samples.dedup_by_key(|&mut (t, _)| t);
                skipped_in_file += before - samples.len();
                (labels, samples)
            })
            .collect();
        self.buffered_samples = 0;
        let report = self.storage.backfill(batch)?;
        self.report.batches += 1;
        self.report.samples_written += report.samples_written;
        self.report.samples_skipped += report.samples_skipped + skipped_in_file;
        self.report.series_created += report.series_created;
        self.metrics.record_appended(Source::Import, report.samples_written);
        self.metrics
            .record_backfill_skipped(report.samples_skipped + skipped_in_file);
        tracing::debug!(
            written = report.samples_written,
            skipped = report.samples_skipped + skipped_in_file,
            "import batch written"
        );
        Ok(())
    }
}
