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

use crate::exposition::{Entry, Format, ParsedSample, Parser};
use crate::model::{Labels, METRIC_NAME};
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
    while let Some(block) = blocks.next_block()? {
        // `_created` lines carry a creation time and usually no timestamp of
        // their own, so they cannot be backfilled as samples.
        for entry in Parser::new(&block.text, format).keep_created_series(false) {
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
            let mut pairs = Vec::with_capacity(sample.labels.len() + 1);
            pairs.push((METRIC_NAME, sample.name.as_ref()));
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
        self.metrics
            .record_appended(Source::Import, report.samples_written);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::spy_storage::SpyStorage;
    use crate::selfmetrics::Registry;
    use std::fmt::Write as _;
    use std::io::Write as _;

    fn file(contents: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        f
    }

    fn import(
        f: &tempfile::NamedTempFile,
        format: Option<Format>,
        storage: &SpyStorage,
        options: &ImportOptions,
    ) -> Result<ImportReport, IngestError> {
        import_file(
            f.path(),
            format,
            storage,
            options,
            &IngestMetrics::new(&Registry::new()),
        )
    }

    /// An OpenMetrics body with several typed families, `_created` lines
    /// (skipped by the parser) and long families.
    fn openmetrics_body(series: usize, points: usize) -> String {
        let mut s = String::new();
        for fam in 0..3 {
            let _ = writeln!(s, "# HELP fam{fam} Family {fam}.");
            let _ = writeln!(s, "# TYPE fam{fam} counter");
            for i in 0..series {
                for p in 0..points {
                    let _ = writeln!(
                        s,
                        "fam{fam}_total{{i=\"{i}\"}} {p} {}.{:03}",
                        1_700_000_000 + p,
                        fam
                    );
                }
                let _ = writeln!(s, "fam{fam}_created{{i=\"{i}\"}} 1600000000");
            }
        }
        s.push_str("# EOF\n");
        s
    }

    #[test]
    fn imports_text_with_timestamps() {
        let f = file("# TYPE a gauge\na{x=\"1\"} 1 1000\na{x=\"1\"} 2 2000\nb 5 1000\na{x=\"1\"} 9 1000\n");
        let storage = SpyStorage::default();
        let report = import(&f, None, &storage, &ImportOptions::default()).unwrap();
        assert_eq!(report.format, Format::PrometheusText);
        assert_eq!(report.samples_read, 4);
        assert_eq!(report.samples_written, 3);
        assert_eq!(
            report.samples_skipped, 1,
            "the file's repeat of a@1000 is skipped, first wins"
        );
        assert_eq!(report.series, 2);
        assert_eq!(report.series_created, 2);
        let a = Labels::from_pairs(&[("__name__", "a"), ("x", "1")]);
        assert_eq!(storage.samples(&a), vec![(1000, 1.0), (2000, 2.0)]);

        // Importing again writes nothing new and loses nothing.
        let again = import(&f, None, &storage, &ImportOptions::default()).unwrap();
        assert_eq!((again.samples_written, again.samples_skipped), (0, 4));
        assert_eq!(storage.total_samples(), 3);
    }

    #[test]
    fn guesses_openmetrics_from_eof_and_converts_seconds() {
        let f = file("# TYPE t gauge\nt 1 1700000000.25\n# EOF\n");
        assert_eq!(guess_format(f.path()).unwrap(), Format::OpenMetrics);
        let storage = SpyStorage::default();
        let report = import(&f, None, &storage, &ImportOptions::default()).unwrap();
        assert_eq!(report.format, Format::OpenMetrics);
        assert_eq!(
            storage.samples(&Labels::from_pairs(&[("__name__", "t")])),
            vec![(1_700_000_000_250, 1.0)]
        );
    }

    #[test]
    fn missing_timestamp_names_the_line_and_writes_nothing() {
        let f = file("a 1 1000\nb 2 1000\nc{job=\"x\"} 3\nd 4 1000\n");
        let storage = SpyStorage::default();
        let err = import(&f, None, &storage, &ImportOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("line 3: sample c{job=\"x\"} has no timestamp"),
            "{msg}"
        );
        assert!(msg.starts_with(&f.path().display().to_string()), "{msg}");
        assert_eq!(storage.total_samples(), 0);
    }

    #[test]
    fn parse_error_late_in_file_writes_nothing() {
        let mut body = String::new();
        for i in 0..500 {
            let _ = writeln!(body, "m{{i=\"{i}\"}} 1 1000");
        }
        body.push_str("m{i=\"bad\" 1 1000\n");
        let f = file(&body);
        let storage = SpyStorage::default();
        // Small blocks and batches: the error is past many block boundaries.
        let options = ImportOptions {
            batch_samples: 10,
            block_bytes: 256,
            ..ImportOptions::default()
        };
        let err = import(&f, None, &storage, &options).unwrap_err();
        assert!(matches!(err, IngestError::Parse { line: 501, .. }), "{err}");
        assert_eq!(storage.total_samples(), 0);
        assert!(storage.backfill_calls.lock().is_empty());
    }

    #[test]
    fn writes_in_bounded_batches() {
        let mut body = String::new();
        for t in 0..10 {
            for s in 0..3 {
                let _ = writeln!(body, "m{{s=\"{s}\"}} {t} {}", 1000 * (t + 1));
            }
        }
        let f = file(&body);
        let storage = SpyStorage::default();
        let options = ImportOptions {
            batch_samples: 4,
            ..ImportOptions::default()
        };
        let report = import(&f, None, &storage, &options).unwrap();
        assert_eq!(report.samples_written, 30);
        assert_eq!(report.series, 3);
        let calls = storage.backfill_calls.lock().clone();
        assert_eq!(calls.len(), report.batches);
        assert!(calls.iter().all(|&n| n <= 4), "{calls:?}");
        assert_eq!(calls.iter().sum::<usize>(), 30);
    }

    #[test]
    fn block_size_does_not_change_the_result() {
        let body = openmetrics_body(7, 5);
        let f = file(&body);
        let whole = SpyStorage::default();
        let big = import(&f, Some(Format::OpenMetrics), &whole, &ImportOptions::default()).unwrap();
        assert_eq!(big.samples_read, 3 * 7 * 5, "_created lines are not samples");
        for block_bytes in [1, 40, 97, 300, 1024] {
            let storage = SpyStorage::default();
            let options = ImportOptions {
                block_bytes,
                ..ImportOptions::default()
            };
            let report = import(&f, Some(Format::OpenMetrics), &storage, &options)
                .unwrap_or_else(|e| panic!("block_bytes {block_bytes}: {e}"));
            assert_eq!(report, big, "block_bytes {block_bytes}");
            assert_eq!(storage.total_samples(), whole.total_samples());
        }
    }

    #[test]
    fn error_lines_are_file_lines_across_blocks() {
        let mut body = openmetrics_body(4, 4);
        // Break line 20 of the file.
        let mut lines: Vec<String> = body.lines().map(str::to_string).collect();
        lines[19] = "fam0_total{i=\"x\" 1 2".to_string();
        body = lines.join("\n") + "\n";
        let f = file(&body);
        for block_bytes in [50, 128, 1 << 20] {
            let options = ImportOptions {
                block_bytes,
                ..ImportOptions::default()
            };
            let err = import(&f, Some(Format::OpenMetrics), &SpyStorage::default(), &options).unwrap_err();
            assert!(
                matches!(err, IngestError::Parse { line: 20, .. }),
                "block_bytes {block_bytes}: {err}"
            );
        }
    }

    #[test]
    fn openmetrics_without_eof_is_an_error() {
        let f = file("# TYPE t gauge\nt 1 1700000000\n");
        let options = ImportOptions {
            block_bytes: 8,
            ..ImportOptions::default()
        };
        let err = import(&f, Some(Format::OpenMetrics), &SpyStorage::default(), &options).unwrap_err();
        assert!(matches!(err, IngestError::Parse { .. }), "{err}");
        assert!(err.to_string().contains("EOF"), "{err}");
    }

    #[test]
    fn content_after_eof_is_an_error_at_its_line() {
        let f = file("t 1 1700000000\n# EOF\nt 2 1700000001\n");
        for block_bytes in [4, 1 << 20] {
            let options = ImportOptions {
                block_bytes,
                ..ImportOptions::default()
            };
            let err = import(&f, Some(Format::OpenMetrics), &SpyStorage::default(), &options).unwrap_err();
            assert!(
                matches!(err, IngestError::Parse { line: 3, .. }),
                "block_bytes {block_bytes}: {err}"
            );
        }
    }

    #[test]
    fn overlong_line_is_refused() {
        let f = file(&format!("m{{a=\"{}\"}} 1 1000\n", "x".repeat(5000)));
        let options = ImportOptions {
            block_bytes: 100,
            limits: IngestLimits {
                max_line_bytes: 1000,
                ..IngestLimits::default()
            },
            ..ImportOptions::default()
        };
        let err = import(&f, None, &SpyStorage::default(), &options).unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::LineTooLong {
                    line: 1,
                    limit: 1000,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn invalid_series_names_the_line() {
        let f = file("ok 1 1000\nm{a=\"1\",b=\"2\",c=\"3\"} 1 1000\n");
        let options = ImportOptions {
            limits: IngestLimits {
                max_labels_per_series: 3,
                ..IngestLimits::default()
            },
            ..ImportOptions::default()
        };
        let err = import(&f, None, &SpyStorage::default(), &options).unwrap_err();
        assert!(
            matches!(err, IngestError::InvalidSeries { line: Some(2), .. }),
            "{err}"
        );
        assert!(err.to_string().contains("4 labels (limit 3)"), "{err}");
    }

    #[test]
    fn missing_file_and_storage_failure() {
        let storage = SpyStorage::default();
        let metrics = IngestMetrics::new(&Registry::new());
        let err = import_file(
            Path::new("/nonexistent/x.prom"),
            None,
            &storage,
            &ImportOptions::default(),
            &metrics,
        )
        .unwrap_err();
        assert!(matches!(err, IngestError::Io { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/x.prom"));

        storage
            .fail_commits
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let f = file("a 1 1000\n");
        let err = import(&f, None, &storage, &ImportOptions::default()).unwrap_err();
        assert!(matches!(err, IngestError::Storage(_)), "{err}");
    }

    #[test]
    fn empty_text_file_imports_nothing() {
        let f = file("");
        let report = import(&f, None, &SpyStorage::default(), &ImportOptions::default()).unwrap();
        assert_eq!((report.samples_read, report.batches), (0, 0));
    }
}
