//! One query's evaluation state, apart from the caches: what it reads
//! (querier, query text, bounds, plan), the limits it runs under (timeout,
//! cancellation, `max_samples`), the samples it holds and read, and the
//! annotations it collects. The evaluation over all steps and the per-step
//! evaluator share it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use promql_parser::parser::{AtModifier, VectorSelector};

use crate::model::Labels;
use crate::tsdb::{Querier, SampleIter};

use super::annotations::Annotations;
use super::control::QueryControl;
use super::error::PromqlError;
use super::plan::QueryPlan;
use super::selector::selector_matcher_sets;
use super::time::QueryBounds;

/// Selected series with their sample iterators, sorted by labels.
pub(crate) type SelectedIters = Vec<(Arc<Labels>, Box<dyn SampleIter>)>;

pub(crate) struct EvalContext<'a> {
    pub querier: &'a dyn Querier,
    pub query: &'a str,
    pub plan: &'a QueryPlan,
    /// The top-level query's bounds, for `@ start()` / `@ end()`.
    pub bounds: QueryBounds,
    /// Whether this is a range query (for the `sort` warning).
    pub is_range: bool,
    /// String literals that are invalid UTF-8 in Go terms, with their `%q`.
    pub invalid_literals: Vec<(String, String)>,
    pub lookback: i64,
    pub default_subquery_step: i64,
    pub annotations: Annotations,
    pub samples: SampleAccount,
    ctl: &'a QueryControl,
    deadline: Instant,
}

/// Samples held at once against `max_samples`, and samples read.
#[derive(Debug, Default)]
pub(crate) struct SampleAccount {
    pub max: usize,
    /// Held now (loaded selectors, windows, results being built).
    pub held: usize,
    pub peak: usize,
    /// Read through streams and series passes (for `stats`).
    pub streamed: usize,
}

impl<'a> EvalContext<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        querier: &'a dyn Querier,
        query: &'a str,
        plan: &'a QueryPlan,
        bounds: QueryBounds,
        is_range: bool,
        lookback: i64,
        default_subquery_step: i64,
        max_samples: usize,
        ctl: &'a QueryControl,
        deadline: Instant,
    ) -> Self {
        EvalContext {
            querier,
            query,
            plan,
            bounds,
            is_range,
            invalid_literals: super::literals::invalid_utf8_literals(query),
            lookback,
            default_subquery_step,
            annotations: Annotations::default(),
            samples: SampleAccount {
                max: max_samples,
                ..Default::default()
            },
            ctl,
            deadline,
        }
    }

    /// The time a node with this `@` modifier is evaluated at.
    pub fn at_time(&self, at: &Option<AtModifier>, ts: i64) -> i64 {
        self.bounds.at_time(at, ts)
    }

    pub fn check_limits(&self) -> Result<(), PromqlError> {
        if self.ctl.is_canceled() {
            return Err(PromqlError::Canceled("query execution"));
        }
        if Instant::now() > self.deadline {
            return Err(PromqlError::Timeout("query execution"));
        }
        Ok(())
    }

    /// Counts samples held by an intermediate result against `max_samples`.
    pub fn account(&mut self, n: usize) -> Result<(), PromqlError> {
        let held = self.samples.held + n;
        self.samples.peak = self.samples.peak.max(held);
        if held > self.samples.max {
            return Err(PromqlError::TooManySamples);
        }
        Ok(())
    }

    /// Counts `n` more samples held (by a window or a result being built);
    /// fails when that makes more than `max_samples` held at once.
    pub fn hold(&mut self, n: usize) -> Result<(), PromqlError> {
        self.samples.held += n;
        self.samples.peak = self.samples.peak.max(self.samples.held);
        if self.samples.held > self.samples.max {
            return Err(PromqlError::TooManySamples);
        }
        Ok(())
    }

    /// Counts `n` held samples as freed.
    pub fn release(&mut self, n: usize) {
        self.samples.held = self.samples.held.saturating_sub(n);
    }

    /// Prometheus accepts any valid UTF-8 label name; a literal written
    /// with raw bytes that are not UTF-8 is refused with its Go quoting.
    pub fn check_label_name(&self, name: &str, what: &str) -> Result<(), PromqlError> {
        if let Some((_, quoted)) = self.invalid_literals.iter().find(|(p, _)| p == name) {
            return Err(PromqlError::Execution(format!("{what}{quoted}")));
        }
        if name.is_empty() {
            return Err(PromqlError::Execution(format!("{what}\"\"")));
        }
        Ok(())
    }

    pub fn position(&self, needle: &str) -> (usize, usize) {
        Annotations::position(self.query, needle)
    }

    /// The selected series' sample iterators over `[mint, maxt]`, sorted by
    /// labels (one per label set, the first matcher set winning for `or`).
    pub fn select_iters(
        &self,
        vs: &VectorSelector,
        mint: i64,
        maxt: i64,
    ) -> Result<SelectedIters, PromqlError> {
        let sets = selector_matcher_sets(vs)?;
        if sets.len() == 1 {
            // Storage returns one matcher set's series sorted and unique.
            let selected = self.querier.select(&sets[0], mint, maxt)?;
            self.check_limits()?;
            return Ok(selected
                .into_iter()
                .map(|s| (Arc::new(s.labels), s.samples))
                .collect());
        }
        let mut by_labels: BTreeMap<Labels, Box<dyn SampleIter>> = Default::default();
        for set in &sets {
            for s in self.querier.select(set, mint, maxt)? {
                by_labels.entry(s.labels).or_insert(s.samples);
            }
            self.check_limits()?;
        }
        Ok(by_labels
            .into_iter()
            .map(|(l, iter)| (Arc::new(l), iter))
            .collect())
    }
}
