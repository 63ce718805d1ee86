//! The ring itself: a fixed number of slots overwritten in arrival order,
//! and per series a linked list through its slots, oldest to newest, so a
//! query walks only the series it selects.
//!
//! Out-of-order exemplars are refused (Prometheus's rule with no
//! out-of-order window), so arrival order within a series is time order:
//! the slot the ring overwrites next is always the *oldest* of its series,
//! and unlinking it only moves that series' head.

use std::collections::HashMap;

use crate::model::Labels;

use super::error::ExemplarError;
use super::exemplar::{Exemplar, MAX_LABEL_SET_CHARS};

struct Slot {
    exemplar: Exemplar,
    series: u64,
    /// The next (newer) slot of the same series.
    next: Option<usize>,
}

struct SeriesEntry {
    labels: Labels,
    oldest: usize,
    newest: usize,
}

/// What an accepted append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Appended {
    Stored,
    /// Identical to the series' newest exemplar: the repeat every scrape
    /// brings until the client observes a new one. Not stored again.
    Duplicate,
}

#[derive(Default)]
pub(super) struct Ring {
    slots: Vec<Option<Slot>>,
    /// The slot the next append writes (overwriting what is there).
    next: usize,
    ids: HashMap<Labels, u64>,
    series: HashMap<u64, SeriesEntry>,
    next_id: u64,
    stored: usize,
}

impl Ring {
    pub(super) fn with_capacity(capacity: usize) -> Ring {
        let mut slots = Vec::new();
        slots.resize_with(capacity, || None);
        Ring {
            slots,
            ..Ring::default()
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn len(&self) -> usize {
        self.stored
    }

    pub(super) fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The time of the oldest exemplar held, by arrival. Slots fill from
    /// 0 and are only ever overwritten, so until the ring wraps the oldest
    /// is slot 0, and after that the one about to be overwritten.
    pub(super) fn oldest_timestamp(&self) -> Option<i64> {
        let at = self.slots.get(self.next)?;
        let oldest = if at.is_some() { at } else { &self.slots[0] };
        oldest.as_ref().map(|s| s.exemplar.ts)
    }

    /// Checks and stores one exemplar of `series`.
    pub(super) fn append(&mut self, series: &Labels, e: Exemplar) -> Result<Appended, ExemplarError> {
        if self.slots.is_empty() {
            return Err(ExemplarError::Disabled);
        }
        let chars = e.label_set_chars();
        if chars > MAX_LABEL_SET_CHARS {
            return Err(ExemplarError::LabelSetTooLong {
                chars,
                limit: MAX_LABEL_SET_CHARS,
            });
        }
        if let Some(entry) = self.ids.get(series).and_then(|id| self.series.get(id)) {
            let newest = self.slot(entry.newest);
            if *newest == e {
                return Ok(Appended::Duplicate);
            }
            if out_of_order(&e, newest) {
                return Err(ExemplarError::OutOfOrder);
            }
        }
        self.store(series, e);
        Ok(Appended::Stored)
    }

    /// Stores without checks (the caller has checked, or is refilling a
    /// resized ring from a checked one).
    fn store(&mut self, series: &Labels, e: Exemplar) {
        let at = self.next;
        self.evict(at);
        let id = match self.ids.get(series) {
            Some(&id) => {
                let entry = self.series.get_mut(&id).expect("every id has its series entry");
                let previous = entry.newest;
                entry.newest = at;
                if let Some(prev) = self.slots[previous].as_mut() {
                    prev.next = Some(at);
                }
                id
            }
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.ids.insert(series.clone(), id);
                self.series.insert(
                    id,
                    SeriesEntry {
                        labels: series.clone(),
                        oldest: at,
                        newest: at,
                    },
                );
                id
            }
        };
        self.slots[at] = Some(Slot {
            exemplar: e,
            series: id,
            next: None,
        });
        self.stored += 1;
        self.next = (at + 1) % self.slots.len();
    }

    /// Frees slot `at`, which is the oldest of its series (see the module
    /// notes); a series left without exemplars is forgotten.
    fn evict(&mut self, at: usize) {
        let Some(old) = self.slots[at].take() else {
            return;
        };
        self.stored -= 1;
        let entry = self
            .series
            .get_mut(&old.series)
            .expect("a stored slot's series exists");
        debug_assert_eq!(entry.oldest, at);
        match old.next {
            Some(next) => entry.oldest = next,
            None => {
                if let Some(entry) = self.series.remove(&old.series) {
                    self.ids.remove(&entry.labels);
                }
            }
        }
    }

    fn slot(&self, i: usize) -> &Exemplar {
        &self.slots[i]
            .as_ref()
            .expect("linked slots are occupied")
            .exemplar
    }

    /// Every series whose labels pass `keep`, with its exemplars in
    /// `[start, end]`, oldest first; series without any are left out.
    pub(super) fn select(
        &self,
        start: i64,
        end: i64,
        keep: impl Fn(&Labels) -> bool,
    ) -> Vec<(Labels, Vec<Exemplar>)> {
        let mut out = Vec::new();
        for entry in self.series.values() {
            if self.slot(entry.oldest).ts > end || self.slot(entry.newest).ts < start {
                continue;
            }
            if !keep(&entry.labels) {
                continue;
            }
            let mut found = Vec::new();
            let mut at = Some(entry.oldest);
            while let Some(i) = at {
                let slot = self.slots[i].as_ref().expect("linked slots are occupied");
                if slot.exemplar.ts > end {
                    break;
                }
                if slot.exemplar.ts >= start {
                    found.push(slot.exemplar.clone());
                }
                at = slot.next;
            }
            if !found.is_empty() {
                out.push((entry.labels.clone(), found));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// A ring of `capacity` slots holding the newest exemplars of this one
    /// (by arrival), as Prometheus's resize keeps them.
    pub(super) fn resized(mut self, capacity: usize) -> Ring {
        let mut fresh = Ring::with_capacity(capacity);
        if capacity == 0 {
            return fresh;
        }
        let cap = self.slots.len();
        let mut kept: Vec<(u64, Exemplar)> = (0..cap)
            .filter_map(|i| self.slots[(self.next + i) % cap].take())
            .map(|s| (s.series, s.exemplar))
            .collect();
        let skip = kept.len().saturating_sub(capacity);
        for (id, e) in kept.drain(..).skip(skip) {
            let labels = &self.series[&id].labels;
            fresh.store(labels, e);
        }
        fresh
    }
}

/// Prometheus's order within a series, without an out-of-order window:
/// by time, then (for the several exemplars of one native-histogram
/// sample) by value, then by label hash.
fn out_of_order(e: &Exemplar, newest: &Exemplar) -> bool {
    if e.ts != newest.ts {
        return e.ts < newest.ts;
    }
    if e.value != newest.value {
        return e.value < newest.value;
    }
    e.labels.identity_hash() < newest.labels.identity_hash()
}
