//! Backfill: old samples written straight into persisted chunks, merged
//! with what is stored. The series' head is flushed into the same write
//! transaction first, so afterwards all of its data is in one ordered run
//! of non-overlapping chunks. Samples whose timestamp is already stored are
//! skipped and counted; nothing stored is overwritten.
//!
//! Backfilled data is complete when it arrives, so it is written in the
//! compactor's long encoding at once (runs of the compactor's target
//! length, pco unless XOR comes out smaller) rather than as head-sized XOR
//! chunks waiting hours to be compacted. A short run left by the previous
//! batch of an import is merged with the samples that continue it.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::model::Labels;

use super::chunk::{OwnedChunkIter, XOR_MAX_SAMPLES, XorChunk, encode_pco};
use super::db::Inner;
use super::head::{CHUNK_MAX_SAMPLES, CHUNK_MAX_SPAN_MS, MemSeries, SeriesState};
use super::store::StoreWriter;
use super::store::layout::ChunkHeader;
use super::validate::{self, LastSample};
use super::{BackfillReport, StorageError};

/// The in-memory effect of one series' backfill, applied after commit.
struct Applied {
    series: Option<Arc<MemSeries>>,
    series_ref: u64,
    labels: Labels,
    flushed: usize,
    range: Option<(i64, i64)>,
    newest: Option<(i64, f64)>,
}

impl Inner {
    pub(crate) fn backfill(
        &self,
        input: Vec<(Labels, Vec<(i64, f64)>)>,
    ) -> Result<BackfillReport, StorageError> {
        self.check_open()?;
        let _commit = self.commit_lock.write();
        let _maint = self.maintenance_lock.lock();
        let mut report = BackfillReport::default();

        // One entry per series, samples sorted; repeats within the input
        // keep the first value.
        let mut per_series: BTreeMap<Labels, BTreeMap<i64, f64>> = BTreeMap::new();
        for (labels, samples) in input {
            if let Err(e) = validate::check_labels(&labels) {
                tracing::warn!(error = %e, samples = samples.len(), "backfill skipped a series");
                report.samples_skipped += samples.len();
                continue;
            }
            let entry = per_series.entry(labels).or_default();
            for (t, v) in samples {
                match entry.entry(t) {
                    Entry::Occupied(_) => report.samples_skipped += 1,
                    Entry::Vacant(slot) => {
                        slot.insert(v);
                    }
                }
            }
        }
        if per_series.is_empty() {
            return Ok(report);
        }

        let target = self.opts.compaction_target_samples.clamp(1, XOR_MAX_SAMPLES);
        let mut applied = Vec::with_capacity(per_series.len());
        let mut chunks_added = 0i64;
        let mut chunks_replaced = 0usize;
        let txn = self.store.begin_write()?;
        {
            let mut w = StoreWriter::new(&txn)?;
            let idx = self.head.index.write();
            for (labels, samples) in per_series {
                let existing = idx.get_by_labels(labels.stable_hash(), &labels).cloned();
                let (series_ref, flushed) = match &existing {
                    Some(s) => {
                        let mut st = s.state.lock();
                        st.seal_open();
                        for c in &st.sealed {
                            let h = ChunkHeader {
                                max_t: c.max_t,
                                num_samples: c.num_samples,
                            };
                            w.put_chunk(s.series_ref, c.min_t, h, &c.bytes)?;
                            chunks_added += 1;
                        }
                        if !st.row_persisted {
                            w.put_series(s.series_ref, &labels)?;
                        }
                        (s.series_ref, st.sealed.len())
                    }
                    None => {
                        let r = idx.reserve_ref();
                        w.put_series(r, &labels)?;
                        report.series_created += 1;
                        (r, 0)
                    }
                };
                let merged = merge_into(&mut w, series_ref, &samples, target)?;
                report.samples_written += merged.written;
                report.samples_skipped += merged.skipped;
                chunks_added += merged.created as i64 - merged.removed as i64;
                chunks_replaced += merged.removed;
                let headers = w.chunk_headers(series_ref)?;
                let range = headers
                    .iter()
                    .fold(None, |acc: Option<(i64, i64)>, (min_t, h, _)| {
                        Some(acc.map_or((*min_t, h.max_t), |(lo, hi)| (lo.min(*min_t), hi.max(h.max_t))))
                    });
                w.put_range(series_ref, range)?;
                let newest = last_stored_sample(&w, series_ref, &headers)?;
                applied.push(Applied {
                    series: existing,
                    series_ref,
                    labels,
                    flushed,
                    range,
                    newest,
                });
            }
            w.set_next_ref(idx.next_ref())?;
        }
        txn.commit()?;

        let mut idx = self.head.index.write();
        let mut flushed_total = 0;
        for a in applied {
            let last = a.newest.map(|(t, v)| LastSample {
                t,
                value: Some(v.to_bits()),
            });
            match a.series {
                Some(s) => {
                    let mut st = s.state.lock();
                    let n = a.flushed.min(st.sealed.len());
                    st.sealed.drain(..n);
                    flushed_total += a.flushed;
                    st.persisted = a.range;
                    st.row_persisted = true;
                    if last.is_some_and(|l| s.published.last().is_none_or(|cur| l.t > cur.t)) {
                        s.published.set_last(last);
                    }
                }
                None => {
                    let state = SeriesState {
                        persisted: a.range,
                        row_persisted: true,
                        ..SeriesState::default()
                    };
                    let s = idx.insert(a.series_ref, &a.labels, state);
                    let _st = s.state.lock();
                    s.published.set_last(last);
                    self.metrics.series_created.inc();
                    self.metrics.head_series.add(1.0);
                }
            }
        }
        drop(idx);
        self.metrics.head_chunks.add(-(flushed_total as f64));
        self.persisted_chunks
            .fetch_add(chunks_added.max(0) as u64, Ordering::Relaxed);
        if chunks_added < 0 {
            self.persisted_chunks
                .fetch_sub((-chunks_added) as u64, Ordering::Relaxed);
        }
        // Rewritten chunks leave free pages behind, as compaction does.
        if chunks_replaced > 0 {
            self.reclaim_store_space();
        }
        self.metrics.backfill_samples.add(report.samples_written as u64);
        self.metrics
            .backfill_skipped_samples
            .add(report.samples_skipped as u64);
        Ok(report)
    }
}

/// Merges sorted, unique samples into a series' stored chunks: the chunks
/// overlapping the input's time span, and the chunk just before it when
/// that one is shorter than `target` samples, are decoded, merged (stored
/// samples win) and rewritten as runs of up to `target` samples.
fn merge_into(
    w: &mut StoreWriter,
    series_ref: u64,
    samples: &BTreeMap<i64, f64>,
    target: usize,
) -> Result<Merged, StorageError> {
    let (Some((&lo, _)), Some((&hi, _))) = (samples.first_key_value(), samples.last_key_value()) else {
        return Ok(Merged::default());
    };
    let headers = w.chunk_headers(series_ref)?;
    let first_overlapping = headers
        .iter()
        .find(|(min_t, h, _)| h.max_t >= lo && *min_t <= hi)
        .map(|(min_t, _, _)| *min_t);
    // Without this, an import cut into batches leaves one short run per
    // series at every batch boundary.
    let short_before = headers
        .iter()
        .rfind(|(_, h, _)| h.max_t < lo)
        .filter(|(_, h, _)| (h.num_samples as usize) < target)
        .map(|(min_t, _, _)| *min_t);
    let overlapping = match short_before.or(first_overlapping) {
        Some(from) => w.chunks_starting_in(series_ref, from, hi)?,
        None => Vec::new(),
    };
    let mut merged: BTreeMap<i64, f64> = BTreeMap::new();
    for c in &overlapping {
        for (t, v) in OwnedChunkIter::new(Arc::from(c.bytes.as_slice()))? {
            merged.insert(t, v);
        }
    }
    let (mut written, mut skipped) = (0, 0);
    for (&t, &v) in samples {
        match merged.entry(t) {
            Entry::Occupied(_) => skipped += 1,
            Entry::Vacant(slot) => {
                slot.insert(v);
                written += 1;
            }
        }
    }
    if written == 0 {
        return Ok(Merged {
            skipped,
            ..Merged::default()
        });
    }
    for c in &overlapping {
        w.remove_chunk(series_ref, c.min_t)?;
    }
    let mut created = 0;
    let all: Vec<(i64, f64)> = merged.into_iter().collect();
    for part in cut_runs(&all, target) {
        let header = ChunkHeader {
            max_t: part[part.len() - 1].0,
            num_samples: part.len() as u32,
        };
        w.put_chunk(series_ref, part[0].0, header, &encode_run(part)?)?;
        created += 1;
    }
    Ok(Merged {
        written,
        skipped,
        created,
        removed: overlapping.len(),
    })
}

/// What merging one series' samples did.
#[derive(Default)]
struct Merged {
    written: usize,
    skipped: usize,
    /// Chunks written and stored chunks they replaced.
    created: usize,
    removed: usize,
}

/// Encodes one run both ways and keeps the smaller: pco wins on long runs,
/// while on a few dozen samples its per-column headers can outweigh what
/// it saves.
fn encode_run(part: &[(i64, f64)]) -> Result<Vec<u8>, StorageError> {
    let mut xor = XorChunk::new();
    for &(t, v) in part {
        xor.append(t, v);
    }
    let (ts, vs): (Vec<i64>, Vec<f64>) = part.iter().copied().unzip();
    let pco = encode_pco(&ts, &vs)?;
    Ok(if pco.len() < xor.bytes().len() {
        pco
    } else {
        xor.bytes().to_vec()
    })
}

/// Splits samples into runs of at most `target` samples, each spanning at
/// most as many head chunk spans (2 h) as it holds head chunks' worth of
/// samples (120), so sparse series are not kept whole for weeks: retention
/// drops backfilled data at about the compactor's grain.
fn cut_runs(samples: &[(i64, f64)], target: usize) -> Vec<&[(i64, f64)]> {
    let max_span = CHUNK_MAX_SPAN_MS.saturating_mul(target.div_ceil(CHUNK_MAX_SAMPLES).max(1) as i64);
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..samples.len() {
        if i - start >= target || samples[i].0 - samples[start].0 > max_span {
            parts.push(&samples[start..i]);
            start = i;
        }
    }
    if start < samples.len() {
        parts.push(&samples[start..]);
    }
    parts
}

/// The newest stored sample of a series (for append validation).
fn last_stored_sample(
    w: &StoreWriter,
    series_ref: u64,
    headers: &[(i64, ChunkHeader, usize)],
) -> Result<Option<(i64, f64)>, StorageError> {
    let Some((min_t, _, _)) = headers.last() else {
        return Ok(None);
    };
    let chunks = w.chunks_starting_in(series_ref, *min_t, *min_t)?;
    let Some(c) = chunks.first() else {
        return Ok(None);
    };
    Ok(OwnedChunkIter::new(Arc::from(c.bytes.as_slice()))?.last())
}
