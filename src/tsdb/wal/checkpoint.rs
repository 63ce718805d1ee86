//! Checkpoints: the records of all closed segments that still matter
//! (live series, samples at or after a time) compacted into
//! `checkpoint.NNNNNNNN/`, so replay stays short and old segments go.
//! Written under a `.tmp` name, fsynced, then renamed, so a crash leaves
//! either the old state or the new one.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::record::TimeSpan;
use super::segment::{Frame, FrameReader, TEMP_SUFFIX, checkpoint_name, list_dir, segment_name, sync_dir};
use super::value_bases::ValueBases;
use super::writer::{FileCoder, Wal, push_frame};
use super::{WalError, WalRecord};

/// What a checkpoint carries over from the records it compacts.
pub struct CheckpointKeep<'a> {
    /// Series records to keep: series whose labels are stored nowhere else.
    pub series: Box<dyn Fn(u64) -> bool + 'a>,
    /// Samples `(ref, t)` to keep: those not yet persisted elsewhere.
    pub samples: Box<dyn Fn(u64, i64) -> bool + 'a>,
}

impl<'a> CheckpointKeep<'a> {
    /// Keeps the series records of the refs `keep` names, and their samples
    /// from `min_time` on.
    pub fn refs(keep: &'a dyn Fn(u64) -> bool, min_time: i64) -> Self {
        CheckpointKeep {
            series: Box::new(keep),
            samples: Box::new(move |r, t| t >= min_time && keep(r)),
        }
    }
}

impl Wal {
    /// Compacts every closed segment into `checkpoint.NNNNNNNN` (what
    /// `keep` keeps), then removes them. Segments from the lowest
    /// [`super::WalHolds`] hold on stay.
    pub fn checkpoint(&self, keep: &CheckpointKeep<'_>) -> Result<(), WalError> {
        let writing = self.shared.writer.lock().segment;
        self.compact(keep, writing, &|_| true)
    }

    /// Closes the segment being written when `worth` says so of the time
    /// span of its samples (when most of them could go, so persisted data
    /// leaves the log soon rather than when the segment fills), and
    /// returns the segment now being written: every record before it is
    /// in a closed segment.
    pub fn roll_if(&self, worth: &dyn Fn(TimeSpan) -> bool) -> Result<u32, WalError> {
        self.shared.roll_if(worth)
    }

    /// [`Wal::checkpoint`] of the segments before `before` only (the
    /// caller knows what `keep` says of the records in those), and only of
    /// the first ones whose samples' span `worth` accepts: a segment whose
    /// samples are all kept would be copied for nothing. Segments an
    /// earlier process wrote have no known span and are compacted.
    pub fn checkpoint_before(
        &self,
        keep: &CheckpointKeep<'_>,
        before: u32,
        worth: &dyn Fn(TimeSpan) -> bool,
    ) -> Result<(), WalError> {
        self.compact(keep, before, worth)
    }

    fn compact(
        &self,
        keep: &CheckpointKeep<'_>,
        before: u32,
        worth: &dyn Fn(TimeSpan) -> bool,
    ) -> Result<(), WalError> {
        let shared = &self.shared;
        let _one_at_a_time = shared.checkpoint_lock.lock();
        // Segments a reader holds stay, with every later one.
        let (writing, spans) = {
            let w = shared.writer.lock();
            (w.segment.min(before), w.closed_spans.clone())
        };
        let current = shared.holds.lowest().map_or(writing, |held| held.min(writing));
        let listing = list_dir(&shared.dir)?;
        let previous = listing.checkpoints.last().cloned();
        // A prefix of the segments worth compacting.
        let segments: Vec<(u32, PathBuf)> = listing
            .segments
            .into_iter()
            .filter(|(n, _)| *n < current && previous.as_ref().is_none_or(|(cp, _)| n > cp))
            .take_while(|(n, _)| spans.get(n).is_none_or(|span| worth(*span)))
            .collect();
        let Some(&(last, _)) = segments.last() else {
            return Ok(());
        };

        let mut sources: Vec<PathBuf> = Vec::new();
        if let Some((_, dir)) = &previous {
            sources.extend(list_dir(dir)?.segments.into_iter().map(|s| s.1));
        }
        sources.extend(segments.iter().map(|s| s.1.clone()));

        let tmp = shared.dir.join(format!("{}{TEMP_SUFFIX}", checkpoint_name(last)));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| WalError::io(&tmp, e))?;
        }
        std::fs::create_dir(&tmp).map_err(|e| WalError::io(&tmp, e))?;
        if let Err(e) = write_checkpoint(&tmp, &sources, keep) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let done = shared.dir.join(checkpoint_name(last));
        std::fs::rename(&tmp, &done).map_err(|e| WalError::io(&tmp, e))?;
        sync_dir(&shared.dir)?;

        // The checkpoint is durable; what it replaces can go. A crash from
        // here on leaves leftovers that the next open removes.
        for (_, path) in &segments {
            std::fs::remove_file(path).map_err(|e| WalError::io(path, e))?;
        }
        if let Some((_, dir)) = &previous {
            std::fs::remove_dir_all(dir).map_err(|e| WalError::io(dir, e))?;
        }
        sync_dir(&shared.dir)?;
        {
            let mut w = shared.writer.lock();
            for (n, _) in &segments {
                w.closed_spans.remove(n);
            }
        }
        shared.metrics.checkpoints.inc();
        shared.refresh_segment_gauge()?;
        tracing::info!(
            checkpoint = %done.display(),
            segments = segments.len(),
            "wal checkpoint written"
        );
        Ok(())
    }
}

fn write_checkpoint(tmp: &Path, sources: &[PathBuf], keep: &CheckpointKeep<'_>) -> Result<(), WalError> {
    let path = tmp.join(segment_name(0));
    let file = File::create(&path).map_err(|e| WalError::io(&path, e))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut frame = Vec::new();
    // The checkpoint is one file: its values are coded against its own
    // earlier records, each source decoded against its own.
    let mut coder = FileCoder::new();
    for source in sources {
        let mut bases = ValueBases::default();
        let mut reader = FrameReader::open(source)?;
        loop {
            let at = reader.offset;
            let record = match reader.next_frame()? {
                Frame::Record(p) => WalRecord::decode_in(&p, &mut bases).map_err(|e| WalError::Corrupt {
                    path: source.clone(),
                    offset: at,
                    detail: e.to_string(),
                })?,
                Frame::End => break,
                Frame::Torn => {
                    return Err(WalError::Corrupt {
                        path: source.clone(),
                        offset: at,
                        detail: "file ends inside a record".into(),
                    });
                }
                Frame::Corrupt(detail) => {
                    return Err(WalError::Corrupt {
                        path: source.clone(),
                        offset: at,
                        detail,
                    });
                }
            };
            let kept = match record {
                WalRecord::Series(mut s) => {
                    s.retain(|(r, _)| (keep.series)(*r));
                    (!s.is_empty()).then_some(WalRecord::Series(s))
                }
                WalRecord::Samples(mut s) => {
                    s.retain(|(r, t, _)| (keep.samples)(*r, *t));
                    (!s.is_empty()).then_some(WalRecord::Samples(s))
                }
            };
            let Some(kept) = kept else { continue };
            frame.clear();
            push_frame(&mut frame, &mut coder, |out, bases| {
                kept.encode_into(out, bases);
            })?;
            out.write_all(&frame).map_err(|e| WalError::io(&path, e))?;
        }
    }
    let file = out
        .into_inner()
        .map_err(|e| WalError::io(&path, e.into_error()))?;
    file.sync_all().map_err(|e| WalError::io(&path, e))?;
    sync_dir(tmp)
}
