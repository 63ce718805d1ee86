//! What one query's per-step evaluation keeps between steps, keyed by
//! syntax-tree node: selected series (loaded or streamed), the results the
//! evaluation over all steps produced, shared subexpressions' results of the
//! current step, aggregation groups, sliding-window extremes and native
//! histograms.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::Labels;

use super::histogram_selector::SelectorHistograms;
use super::node::NodeId;
use super::precomputed::Precomputed;
use super::selector::{Loaded, Streamed};
use super::value::{Elem, Val};

/// Input label set address → (the label set, its group hash, its group's
/// labels): label sets are shared from step to step, so their address
/// finds their group without hashing the labels again.
pub(crate) type GroupKeys = HashMap<usize, (Arc<Labels>, u64, Arc<Labels>)>;

/// (series samples address, is max) → (window start, window end, index of
/// the extreme, its value).
pub(crate) type WindowExtremes = HashMap<(usize, bool), (usize, usize, usize, f64)>;

#[derive(Default)]
pub(crate) struct EvalCache {
    loaded: HashMap<NodeId, Loaded>,
    /// Instant selectors read forward (those outside subqueries, whose
    /// evaluation times only grow).
    streams: HashMap<NodeId, Streamed>,
    precomputed: HashMap<NodeId, Precomputed>,
    /// Results of shared expressions by (shared id, time): a repeated
    /// subexpression is computed once per evaluation time.
    step_results: HashMap<(usize, i64), Val>,
    group_keys: HashMap<NodeId, GroupKeys>,
    /// `max_over_time`/`min_over_time` answers of the previous step.
    window_extremes: WindowExtremes,
    histograms: SelectorHistograms,
}

impl EvalCache {
    /// A cache that starts with the results of the subtrees evaluated over
    /// all steps at once.
    pub fn with_precomputed(precomputed: HashMap<NodeId, Precomputed>) -> Self {
        EvalCache {
            precomputed,
            ..Default::default()
        }
    }

    pub fn loaded(&self, id: NodeId) -> Option<&Loaded> {
        self.loaded.get(&id)
    }

    pub fn insert_loaded(&mut self, id: NodeId, l: Loaded) -> &Loaded {
        // Sliding-window answers are keyed by sample addresses, which a
        // reload frees.
        self.window_extremes.clear();
        self.loaded.insert(id, l);
        &self.loaded[&id]
    }

    /// Samples held by all loaded selectors (for `stats`).
    pub fn loaded_samples(&self) -> usize {
        self.loaded
            .values()
            .map(|l| l.series.iter().map(|s| s.samples.len()).sum::<usize>())
            .sum()
    }

    pub fn has_stream(&self, id: NodeId) -> bool {
        self.streams.contains_key(&id)
    }

    /// The last reference time a stream was read at, if it was opened.
    pub fn stream_last_ref(&self, id: NodeId) -> Option<i64> {
        self.streams.get(&id).map(|s| s.last_ref)
    }

    pub fn insert_stream(&mut self, id: NodeId, s: Streamed) {
        self.streams.insert(id, s);
    }

    pub fn stream_mut(&mut self, id: NodeId) -> Option<&mut Streamed> {
        self.streams.get_mut(&id)
    }

    /// The precomputed result of node `id` at step `ts`, if it has one.
    pub fn precomputed_at(&mut self, id: NodeId, ts: i64) -> Option<Vec<Elem>> {
        self.precomputed.get_mut(&id).map(|p| p.at(ts))
    }

    pub fn take_precomputed(&mut self, id: NodeId) -> Option<Precomputed> {
        self.precomputed.remove(&id)
    }

    pub fn step_result(&self, shared_id: usize, ts: i64) -> Option<&Val> {
        self.step_results.get(&(shared_id, ts))
    }

    pub fn keep_step_result(&mut self, shared_id: usize, ts: i64, v: Val) {
        self.step_results.insert((shared_id, ts), v);
    }

    /// Shared results are only reused within one step.
    pub fn clear_step_results(&mut self) {
        self.step_results.clear();
    }

    /// An aggregation node's group keys, taken out while the node is
    /// evaluated and put back with [`EvalCache::put_group_keys`].
    pub fn take_group_keys(&mut self, id: NodeId) -> GroupKeys {
        std::mem::take(self.group_keys.entry(id).or_default())
    }

    pub fn put_group_keys(&mut self, id: NodeId, keys: GroupKeys) {
        self.group_keys.insert(id, keys);
    }

    pub fn window_extremes(&mut self) -> &mut WindowExtremes {
        &mut self.window_extremes
    }

    pub fn histograms(&mut self) -> &mut SelectorHistograms {
        &mut self.histograms
    }
}
