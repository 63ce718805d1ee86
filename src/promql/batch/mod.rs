//! Evaluation over all steps at once, node by node, as Prometheus evaluates
//! range queries, for the shapes queries spend their time in: a vector
//! selector, a range function (`rate`, `*_over_time`, …) over a matrix
//! selector, and the plain aggregations (`sum`, `avg`, `count`, `min`,
//! `max`, `group`, `stddev`, `stdvar`) of those.
//!
//! Such a subtree produces its result one series at a time: each selected
//! series' samples are read once, forward, a decoded chunk at a time, with a
//! window sliding across the steps; an aggregation folds each finished
//! series into its groups' per-step accumulators. Only one series' window
//! and points are held at a time besides the results, nothing is allocated
//! per step, and `max_samples` counts what is held at once.
//!
//! The engine evaluates the largest such subtrees first ([`precompute`]) and
//! hands the results to the per-step evaluator (`eval.rs`), which reads them
//! step by step and evaluates the rest of the query (binary operators, other
//! functions, subqueries) per step. Nothing here reads that evaluator.
//!
//! `plan.rs` decides what is batched, `precompute.rs` walks the query,
//! `produce.rs` dispatches a subtree to `selector.rs`, `range.rs` and
//! `aggregate.rs`, whose series passes `fanout.rs` spreads over threads.

mod aggregate;
mod cursor;
mod fanout;
mod plan;
mod precompute;
mod produce;
mod range;
mod selector;
mod sink;

pub(crate) use precompute::precompute;
