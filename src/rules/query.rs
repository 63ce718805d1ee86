//! Running a rule's expression: an instant query at the evaluation time,
//! its result turned into samples (a scalar becomes one sample without
//! labels, as in Prometheus), and the `query` function of templates.

use crate::model::Labels;
use crate::promql::{Engine, QueryControl, Sample, Value};
use crate::tsdb::Storage;

use super::error::EvalError;
use crate::template::QuerySample;

/// Everything a rule evaluation needs from the outside.
pub struct EvalEnv<'a> {
    pub engine: &'a Engine,
    pub storage: &'a dyn Storage,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
}

impl EvalEnv<'_> {
    /// The expression's result at `t_ms` as (labels, value) pairs; a
    /// native-histogram sample's value is 0, as Prometheus gives alerting
    /// rules.
    pub fn instant(&self, expr: &str, t_ms: i64) -> Result<Vec<(Labels, f64)>, EvalError> {
        Ok(self
            .instant_samples(expr, t_ms)?
            .into_iter()
            .map(|s| (s.labels, s.v))
            .collect())
    }

    /// The expression's result at `t_ms`, native histograms included.
    pub fn instant_samples(&self, expr: &str, t_ms: i64) -> Result<Vec<Sample>, EvalError> {
        let querier = self.storage.querier();
        let out = self
            .engine
            .instant_query(querier.as_ref(), expr, t_ms, &QueryControl::default())
            .map_err(|e| EvalError::Query(e.to_string()))?;
        match out.value {
            Value::Vector(v) => Ok(v),
            Value::Scalar(v) => Ok(vec![Sample {
                labels: Labels::default(),
                t: t_ms,
                v,
                h: None,
            }]),
            other => Err(EvalError::BadResultType(other.type_name())),
        }
    }

    /// What a template's `query` returns.
    pub fn template_query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, EvalError> {
        let querier = self.storage.querier();
        let out = self
            .engine
            .instant_query(querier.as_ref(), expr, t_ms, &QueryControl::default())
            .map_err(|e| EvalError::Query(e.to_string()))?;
        Ok(match out.value {
            Value::Vector(v) => v
                .into_iter()
                .map(|s| QuerySample {
                    labels: s
                        .labels
                        .iter()
                        .map(|l| (l.name.clone(), l.value.clone()))
                        .collect(),
                    value: s.v,
                })
                .collect(),
            Value::Scalar(v) => vec![QuerySample {
                labels: Default::default(),
                value: v,
            }],
            Value::String(s) => vec![QuerySample {
                labels: [("__value__".to_string(), s)].into_iter().collect(),
                value: 0.0,
            }],
            Value::Matrix(_) => return Err(EvalError::RangeInTemplate),
        })
    }
}
