//! A plain aggregation (`sum`, `avg`, `count`, `min`, `max`, `group`,
//! `stddev`, `stdvar`) over all steps: each input series folded into its
//! group's per-step accumulators exactly as the per-step aggregation folds
//! it, in input order.

use std::collections::HashMap;
use std::sync::Arc;

use promql_parser::parser::AggregateExpr;
use promql_parser::parser::token::*;

use crate::model::Labels;
use crate::promql::context::EvalContext;
use crate::promql::error::PromqlError;
use crate::promql::grouping::{group_hash, group_labels, grouping};
use crate::promql::numeric::kahan_inc;
use crate::promql::precomputed::Steps;

use super::sink::Sink;

/// One group's state at one step; `count == 0` means no input yet.
#[derive(Clone, Copy, Default)]
struct Acc {
    value: f64,
    kahan_c: f64,
    mean: f64,
    count: f64,
    incremental_mean: bool,
    drop_name: bool,
}

impl Acc {
    fn first(op: TokenId, f: f64, drop_name: bool) -> Acc {
        let value = match op {
            T_STDDEV | T_STDVAR if f.is_nan() || f.is_infinite() => f64::NAN,
            T_STDDEV | T_STDVAR => 0.0,
            T_GROUP => 1.0,
            _ => f,
        };
        Acc {
            value,
            kahan_c: 0.0,
            mean: f,
            count: 1.0,
            incremental_mean: false,
            drop_name,
        }
    }

    /// Folds in one more input, in input order, exactly as the per-step
    /// aggregation does.
    fn fold(&mut self, op: TokenId, f: f64) {
        match op {
            T_SUM => (self.value, self.kahan_c) = kahan_inc(f, self.value, self.kahan_c),
            T_AVG => {
                self.count += 1.0;
                if !self.incremental_mean {
                    let (nv, nc) = kahan_inc(f, self.value, self.kahan_c);
                    if !nv.is_infinite() {
                        self.value = nv;
                        self.kahan_c = nc;
                        return;
                    }
                    self.incremental_mean = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.kahan_c /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.kahan_c) = kahan_inc(f / self.count, q * self.mean, q * self.kahan_c);
            }
            T_MAX if self.value < f || self.value.is_nan() => self.value = f,
            T_MIN if self.value > f || self.value.is_nan() => self.value = f,
            T_COUNT => self.count += 1.0,
            T_STDDEV | T_STDVAR => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            _ => {}
        }
    }

    fn result(&self, op: TokenId) -> f64 {
        match op {
            T_SUM => self.value + self.kahan_c,
            T_AVG if self.incremental_mean => self.mean + self.kahan_c,
            T_AVG => self.value / self.count + self.kahan_c / self.count,
            T_COUNT => self.count,
            T_STDVAR => self.value / self.count,
            T_STDDEV => (self.value / self.count).sqrt(),
            _ => self.value,
        }
    }
}

/// A plain aggregation being folded: each input series, as it is
/// produced, is folded into its group's accumulators, one per step.
pub(super) struct Aggregation {
    op: TokenId,
    without: bool,
    names: Vec<String>,
    single_group: bool,
    steps: Steps,
    groups: Vec<(Arc<Labels>, Vec<Acc>)>,
    index: HashMap<u64, Vec<usize>>,
    /// Accumulators started, counted as held samples.
    held: usize,
}

impl Aggregation {
    pub fn new(a: &AggregateExpr, steps: &Steps) -> Self {
        let (without, names) = grouping(a);
        Aggregation {
            op: a.op.id(),
            single_group: !without && names.is_empty(),
            without,
            names,
            steps: *steps,
            groups: Vec::new(),
            index: HashMap::new(),
            held: 0,
        }
    }

    /// Folds one input series' points into its group.
    pub fn fold(
        &mut self,
        ctx: &mut EvalContext,
        metric: &Arc<Labels>,
        drop_name: bool,
        points: &[(i64, f64)],
    ) -> Result<(), PromqlError> {
        let (op, steps) = (self.op, &self.steps);
        let groups = &mut self.groups;
        let gi = if self.single_group {
            if groups.is_empty() {
                groups.push((Arc::new(Labels::default()), vec![Acc::default(); steps.count]));
            }
            0
        } else {
            let hash = group_hash(metric, self.without, &self.names);
            let key = group_labels(metric, self.without, &self.names);
            let candidates = self.index.entry(hash).or_default();
            match candidates.iter().copied().find(|&i| *groups[i].0 == key) {
                Some(i) => i,
                None => {
                    candidates.push(groups.len());
                    groups.push((Arc::new(key), vec![Acc::default(); steps.count]));
                    groups.len() - 1
                }
            }
        };
        let accs = &mut groups[gi].1;
        let mut new = 0;
        for &(t, f) in points {
            let acc = &mut accs[steps.index(t)];
            if acc.count == 0.0 {
                *acc = Acc::first(op, f, drop_name);
                new += 1;
            } else {
                acc.drop_name |= drop_name;
                acc.fold(op, f);
            }
        }
        self.held += new;
        ctx.hold(new)
    }

    /// Hands each group's per-step results to `sink`: the points whose
    /// name is kept and those whose name is dropped as two series.
    pub fn finish(self, ctx: &mut EvalContext, sink: &mut Sink) -> Result<(), PromqlError> {
        let (op, steps) = (self.op, &self.steps);
        let mut kept = Vec::with_capacity(steps.count);
        let mut dropped = Vec::new();
        for (labels, accs) in &self.groups {
            kept.clear();
            dropped.clear();
            for (k, acc) in accs.iter().enumerate() {
                if acc.count == 0.0 {
                    continue;
                }
                let p = (steps.time(k), acc.result(op));
                if acc.drop_name {
                    dropped.push(p);
                } else {
                    kept.push(p);
                }
            }
            if !kept.is_empty() {
                sink(ctx, labels, false, &kept)?;
            }
            if !dropped.is_empty() {
                sink(ctx, labels, true, &dropped)?;
            }
        }
        ctx.release(self.held);
        Ok(())
    }
}
