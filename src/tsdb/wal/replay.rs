//! Reading the log back at start: the newest checkpoint, then every later
//! segment in order.

use std::path::{Path, PathBuf};

use super::segment::{Frame, FrameReader, list_dir};
use super::value_bases::ValueBases;
use super::writer::Wal;
use super::{WalError, WalRecord};

/// What a replay read, and what recovery had to repair or skip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// The checkpoint replay started from (the last segment it covers).
    pub checkpoint: Option<u32>,
    /// Segment files read after the checkpoint.
    pub segments: usize,
    /// The numbers of the first and last of those segments.
    pub segment_range: Option<(u32, u32)>,
    pub records: u64,
    pub series: u64,
    pub samples: u64,
    /// Bytes cut off torn or corrupt segment tails when the WAL was opened.
    pub truncated_bytes: u64,
    /// Segments set aside as `*.corrupt` at open because they followed a
    /// corrupt record.
    pub quarantined_segments: Vec<PathBuf>,
    /// Every corruption met, at open or during this replay. When replay
    /// itself meets one it stops there, keeping what came before.
    pub problems: Vec<String>,
}

impl Wal {
    /// Reads the newest checkpoint, then every later segment, in order.
    pub fn replay(&self, mut f: impl FnMut(WalRecord)) -> Result<ReplayReport, WalError> {
        let shared = &self.shared;
        let listing = list_dir(&shared.dir)?;
        let mut report = ReplayReport {
            truncated_bytes: shared.repair.truncated_bytes,
            quarantined_segments: shared.repair.quarantined.clone(),
            problems: shared.repair.problems.clone(),
            ..ReplayReport::default()
        };
        // (file, is a segment rather than checkpoint data, is the newest segment)
        let mut sources: Vec<(PathBuf, bool, bool)> = Vec::new();
        let mut expected_next = None;
        if let Some((n, dir)) = listing.checkpoints.last() {
            report.checkpoint = Some(*n);
            expected_next = Some(n + 1);
            for (_, path) in list_dir(dir)?.segments {
                sources.push((path, false, false));
            }
        }
        let segments: Vec<_> = listing
            .segments
            .into_iter()
            .filter(|(n, _)| report.checkpoint.is_none_or(|cp| *n > cp))
            .collect();
        for (i, (n, path)) in segments.iter().enumerate() {
            if let Some(want) = expected_next
                && *n != want
            {
                // A missing file does not break framing, so later segments
                // still replay; the records in the gap are lost.
                let msg = format!("wal segments {want:08}..{:08} are missing", n - 1);
                tracing::error!(dir = %shared.dir.display(), "{msg}");
                shared.metrics.corruptions.inc();
                report.problems.push(msg);
            }
            expected_next = Some(n + 1);
            sources.push((path.clone(), true, i + 1 == segments.len()));
        }

        if let (Some((first, _)), Some((last, _))) = (segments.first(), segments.last()) {
            report.segment_range = Some((*first, *last));
        }
        for (path, is_segment, is_newest_segment) in sources {
            report.segments += is_segment as usize;
            match replay_file(&path, is_newest_segment, &mut report, &mut f) {
                Ok(()) => {}
                Err(problem @ WalError::Corrupt { .. }) => {
                    tracing::error!(%problem, "wal replay stopped at a corrupt record; later records are not replayed");
                    shared.metrics.corruptions.inc();
                    report.problems.push(problem.to_string());
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }
}

/// Replays one file. [`WalError::Corrupt`] names a corruption that stops
/// replay while keeping what came before; any other error fails it.
fn replay_file(
    path: &Path,
    is_newest_segment: bool,
    report: &mut ReplayReport,
    f: &mut impl FnMut(WalRecord),
) -> Result<(), WalError> {
    let mut reader = FrameReader::open(path)?;
    let mut bases = ValueBases::default();
    loop {
        let at = reader.offset;
        let corrupt = |detail: String| WalError::Corrupt {
            path: path.to_path_buf(),
            offset: at,
            detail,
        };
        match reader.next_frame()? {
            Frame::Record(payload) => match WalRecord::decode_in(&payload, &mut bases) {
                Ok(rec) => {
                    report.records += 1;
                    match &rec {
                        WalRecord::Series(s) => report.series += s.len() as u64,
                        WalRecord::Samples(s) => report.samples += s.len() as u64,
                    }
                    f(rec);
                }
                Err(e) => return Err(corrupt(e.to_string())),
            },
            Frame::End => return Ok(()),
            // A write still in flight in the segment being appended to.
            Frame::Torn if is_newest_segment => return Ok(()),
            Frame::Torn => return Err(corrupt("file ends inside a record".to_string())),
            Frame::Corrupt(detail) => return Err(corrupt(detail)),
        }
    }
}
