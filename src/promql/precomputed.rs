//! Results of subtrees evaluated over all steps at once: the evaluation
//! times of a query, and each series' points over them, which the
//! per-step evaluator reads step by step.

use std::sync::Arc;

use crate::model::Labels;

use super::value::Elem;

/// The evaluation times of a query: `count` steps from `start`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Steps {
    pub start: i64,
    pub step: i64,
    pub count: usize,
}

impl Steps {
    pub fn time(&self, i: usize) -> i64 {
        self.start + i as i64 * self.step
    }

    pub fn index(&self, t: i64) -> usize {
        ((t - self.start) / self.step) as usize
    }
}

/// One series of a subtree's result over all steps.
pub(crate) struct StepSeries {
    pub metric: Arc<Labels>,
    pub drop_name: bool,
    /// (step time, value), ascending.
    pub points: Vec<(i64, f64)>,
}

/// A subtree's result, read step by step by the per-step evaluator.
pub(crate) struct Precomputed {
    pub series: Vec<StepSeries>,
    cursors: Vec<usize>,
}

impl Precomputed {
    pub fn new(series: Vec<StepSeries>) -> Self {
        Precomputed {
            cursors: vec![0; series.len()],
            series,
        }
    }

    /// The result at step time `ts`. Steps are asked in order, so each
    /// series' cursor only moves forward; any other time is searched for.
    pub fn at(&mut self, ts: i64) -> Vec<Elem> {
        let mut out = Vec::new();
        for (s, cur) in self.series.iter().zip(&mut self.cursors) {
            if s.points.get(*cur).is_none_or(|p| p.0 != ts) {
                *cur = s.points.partition_point(|p| p.0 < ts);
            }
            if let Some(&(t, v)) = s.points.get(*cur).filter(|p| p.0 == ts) {
                *cur += 1;
                out.push(Elem {
                    metric: s.metric.clone(),
                    t,
                    v,
                    h: None,
                    drop_name: s.drop_name,
                });
            }
        }
        out
    }
}
