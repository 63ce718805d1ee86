//! Tailing the WAL for one remote, as Prometheus's WAL watcher does: the
//! newest checkpoint and the segments before the start position are read
//! for their series records only, then records are followed from the
//! position on, across segment rollovers, as they are written. Each series
//! is turned once into the labels it is sent with (external labels added,
//! then `write_relabel_configs`); a ref whose series record a checkpoint
//! dropped (the series is persisted) is resolved through the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::RelabelConfig;
use crate::model::{Label, Labels};
use crate::prompb;
use crate::relabel::relabel;
use crate::tsdb::wal::{SegmentTail, WalError, WalPosition, WalRecord, list_wal, read_checkpoint};

use super::RemoteError;
use super::metrics::QueueMetrics;

/// Labels of a series by WAL ref, from the store.
pub type SeriesLookup = Arc<dyn Fn(u64) -> Option<Labels> + Send + Sync>;

/// One sample on its way out, with the labels it is sent with.
#[derive(Clone, Debug)]
pub struct QueuedSample {
    pub series_ref: u64,
    pub labels: Arc<[prompb::Label]>,
    pub t: i64,
    pub v: f64,
}

pub struct WalWatcher {
    dir: PathBuf,
    lookup: SeriesLookup,
    relabel: Vec<RelabelConfig>,
    external: Labels,
    /// `None`: dropped by relabeling.
    series: HashMap<u64, Option<Arc<[prompb::Label]>>>,
    tail: Option<SegmentTail>,
    pos: WalPosition,
    /// Samples older than this (ms since the epoch, from `now - limit`)
    /// are dropped; recomputed by the caller per round.
    pub min_t: Option<i64>,
    /// A new remote sends samples from its creation on: earlier ones are
    /// skipped without being counted as dropped.
    pub not_before: Option<i64>,
    metrics: Arc<QueueMetrics>,
    name: String,
}

impl WalWatcher {
    pub fn new(
        name: &str,
        dir: PathBuf,
        lookup: SeriesLookup,
        relabel: Vec<RelabelConfig>,
        external: Labels,
        metrics: Arc<QueueMetrics>,
    ) -> WalWatcher {
        WalWatcher {
            dir,
            lookup,
            relabel,
            external,
            series: HashMap::new(),
            tail: None,
            pos: WalPosition {
                segment: 0,
                offset: 0,
            },
            min_t: None,
            not_before: None,
            metrics,
            name: name.to_string(),
        }
    }

    /// Where the next record is read from.
    pub fn position(&self) -> WalPosition {
        self.pos
    }

    /// Learns the series written before `start` and positions there; with
    /// no start, at the oldest segment (a new remote then skips samples
    /// from before its creation with `not_before`, as Prometheus's watcher
    /// does with its start time). Returns the position, which is later
    /// than `start` when the segment it names is gone.
    pub fn start(&mut self, start: Option<WalPosition>) -> Result<WalPosition, RemoteError> {
        let mut checkpoint_series = Vec::new();
        read_checkpoint(&self.dir, |rec| {
            if let WalRecord::Series(s) = rec {
                checkpoint_series.extend(s);
            }
        })?;
        for (r, labels) in checkpoint_series {
            self.learn(r, &labels);
        }
        let listing = list_wal(&self.dir)?;
        let Some(&first) = listing.segments.first() else {
            // An open WAL always has a segment; none means it was removed.
            return Err(RemoteError::Closed);
        };
        let mut start = start;
        if let Some(s) = start
            && s.segment < first
        {
            tracing::warn!(
                remote = %self.name, wanted = s.segment, first,
                "wal segments the remote still needed are gone; samples in them are not sent"
            );
            self.metrics.segments_skipped.add(u64::from(first - s.segment));
            start = Some(WalPosition {
                segment: first,
                offset: 0,
            });
        }
        let Some(start) = start else {
            self.move_to(first);
            return Ok(self.pos);
        };
        for &segment in &listing.segments {
            if segment > start.segment {
                break;
            }
            let stop = (start.segment == segment).then_some(start.offset);
            let mut tail = SegmentTail::open(&self.dir, WalPosition { segment, offset: 0 })?;
            while stop.is_none_or(|end| tail.position().offset < end) {
                match tail.next_record() {
                    Ok(Some(WalRecord::Series(s))) => {
                        for (r, labels) in s {
                            self.learn(r, &labels);
                        }
                    }
                    Ok(Some(WalRecord::Samples(_))) => {}
                    Ok(None) => break,
                    Err(e @ WalError::Corrupt { .. }) => {
                        tracing::warn!(remote = %self.name, error = %e, "skipping the rest of a corrupt wal segment");
                        break;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            self.pos = tail.position();
            self.tail = Some(tail);
        }
        if self.pos.segment < start.segment {
            self.pos = start;
            self.tail = None;
        }
        if self.pos != start {
            // The segment is shorter than the position (cut at a corrupt
            // record by the repair at open): go on from its end.
            tracing::warn!(
                remote = %self.name, segment = start.segment, wanted = start.offset, found = self.pos.offset,
                "the saved wal position is past the end of its segment; continuing from there"
            );
        }
        self.metrics.segment.set(f64::from(self.pos.segment));
        Ok(self.pos)
    }

    /// Appends the samples of the records that follow to `out`, until it
    /// holds at least `max` samples, the position reaches `until`, or no
    /// complete record is there yet. Returns whether it read anything.
    pub fn read(
        &mut self,
        out: &mut Vec<QueuedSample>,
        max: usize,
        until: Option<WalPosition>,
    ) -> Result<bool, RemoteError> {
        let mut progressed = false;
        while out.len() < max && until.is_none_or(|u| self.pos < u) {
            let record = match self.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => return Err(e),
            };
            progressed = true;
            match record {
                WalRecord::Series(s) => {
                    for (r, labels) in s {
                        self.learn(r, &labels);
                    }
                }
                WalRecord::Samples(samples) => self.queue(out, samples),
            }
        }
        Ok(progressed)
    }

    fn queue(&mut self, out: &mut Vec<QueuedSample>, samples: Vec<(u64, i64, f64)>) {
        let mut dropped = 0u64;
        let mut highest = i64::MIN;
        for (r, t, v) in samples {
            highest = highest.max(t);
            if self.not_before.is_some_and(|nb| t < nb) {
                continue;
            }
            if self.min_t.is_some_and(|min| t < min) {
                dropped += 1;
                continue;
            }
            let labels = match self.series.get(&r) {
                Some(l) => l.clone(),
                None => match (self.lookup)(r) {
                    Some(labels) => self.learn(r, &labels),
                    None => {
                        tracing::debug!(remote = %self.name, series_ref = r, "no labels for a wal series ref");
                        None
                    }
                },
            };
            match labels {
                Some(labels) => out.push(QueuedSample {
                    series_ref: r,
                    labels,
                    t,
                    v,
                }),
                None => dropped += 1,
            }
        }
        self.metrics.samples_dropped.add(dropped);
        if highest != i64::MIN && highest as f64 / 1000.0 > self.metrics.highest_read.get() {
            self.metrics.highest_read.set(highest as f64 / 1000.0);
        }
    }

    /// The next record at or after the position, moving on to the next
    /// segment once the current one is complete.
    fn next_record(&mut self) -> Result<Option<WalRecord>, RemoteError> {
        loop {
            if self.tail.is_none() {
                match SegmentTail::open(&self.dir, self.pos) {
                    Ok(t) => self.tail = Some(t),
                    Err(WalError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                        if !self.skip_to_next_segment()? {
                            return Ok(None);
                        }
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let tail = self.tail.as_mut().expect("opened above");
            match tail.next_record() {
                Ok(Some(r)) => {
                    self.pos = tail.position();
                    return Ok(Some(r));
                }
                Ok(None) => {}
                Err(e @ WalError::Corrupt { .. }) => {
                    tracing::error!(remote = %self.name, error = %e, "corrupt wal record; skipping the rest of the segment");
                    if !self.skip_to_next_segment()? {
                        return Ok(None);
                    }
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            // Nothing more for now. A later segment means this one is
            // closed; it was fsynced and complete before the later one was
            // created, so one more look finds whatever it still holds.
            let listing = list_wal(&self.dir)?;
            let Some(next) = listing.segments.iter().copied().find(|n| *n > self.pos.segment) else {
                return Ok(None);
            };
            let tail = self.tail.as_mut().expect("opened above");
            if let Some(r) = tail.next_record()? {
                self.pos = tail.position();
                return Ok(Some(r));
            }
            self.move_to(next);
        }
    }

    /// After a corrupt or missing segment: on to the next one there is.
    fn skip_to_next_segment(&mut self) -> Result<bool, RemoteError> {
        let listing = list_wal(&self.dir)?;
        let Some(next) = listing.segments.iter().copied().find(|n| *n > self.pos.segment) else {
            return Ok(false);
        };
        tracing::warn!(remote = %self.name, from = self.pos.segment, to = next, "skipping unreadable wal segments");
        self.metrics
            .segments_skipped
            .add(u64::from(next - self.pos.segment));
        self.move_to(next);
        Ok(true)
    }

    fn move_to(&mut self, segment: u32) {
        self.pos = WalPosition { segment, offset: 0 };
        self.tail = None;
        self.metrics.segment.set(f64::from(segment));
    }

    /// Records the labels `r` is sent with (or that it is dropped).
    fn learn(&mut self, r: u64, labels: &Labels) -> Option<Arc<[prompb::Label]>> {
        let mut b = labels.builder();
        for l in self.external.iter() {
            if labels.get(&l.name).is_none() {
                b.set(&l.name, &l.value);
            }
        }
        let out = relabel(&b.build(), &self.relabel).map(|l| {
            l.iter()
                .map(|Label { name, value }| prompb::Label::new(name, value))
                .collect::<Arc<[_]>>()
        });
        self.series.insert(r, out.clone());
        out
    }
}
