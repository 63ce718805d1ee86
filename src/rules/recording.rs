//! A recording rule: evaluates its expression and names the result.

use crate::model::{Labels, METRIC_NAME};

use super::error::EvalError;
use super::health::RuleHealth;
use super::query::EvalEnv;

#[derive(Debug, Clone)]
pub struct RecordingRule {
    pub name: String,
    pub expr: String,
    pub labels: Labels,
    pub health: RuleHealth,
}

impl RecordingRule {
    /// The series this rule writes at `t_ms`.
    pub fn eval(&self, env: &EvalEnv<'_>, t_ms: i64, limit: usize) -> Result<Vec<(Labels, f64)>, EvalError> {
        let result = env.instant_samples(&self.expr, t_ms)?;
        let mut out = Vec::with_capacity(result.len());
        let mut seen = std::collections::HashSet::with_capacity(result.len());
        for sample in result {
            if sample.h.is_some() {
                return Err(EvalError::HistogramRecording(sample.labels.to_string()));
            }
            let (labels, v) = (sample.labels, sample.v);
            let mut b = labels.builder();
            b.set(METRIC_NAME, &self.name);
            for l in &self.labels {
                b.set(&l.name, &l.value);
            }
            let labels = b.build();
            if !seen.insert(labels.clone()) {
                return Err(EvalError::DuplicateRecording);
            }
            out.push((labels, v));
        }
        if limit > 0 && out.len() > limit {
            return Err(EvalError::SeriesLimit {
                limit,
                count: out.len(),
            });
        }
        Ok(out)
    }
}
