//! Running a rule's expression: an instant query at the evaluation time,
//! its result turned into samples (a scalar becomes one sample without
//! labels, as in Prometheus), and the `query` function of templates.
//! A LogQL group's expressions (and its templates' `query` calls, as in
//! Loki's ruler) run on the LogQL engine over the logs store; whatever
//! the language, results are written to and alert state restored from
//! the TSDB.

use crate::logql::{LogqlEngine, QueryData};
use crate::model::Labels;
use crate::promql::{Engine, QueryControl, Sample, Value};
use crate::tsdb::Storage;

use super::error::EvalError;
use super::language::QueryLanguage;
use crate::template::QuerySample;

/// Everything a rule evaluation needs from the outside.
#[derive(Clone, Copy)]
pub struct EvalEnv<'a> {
    pub engine: &'a Engine,
    pub storage: &'a dyn Storage,
    /// The LogQL engine, where a logs store exists.
    pub logql: Option<&'a LogqlEngine>,
    /// The language of the group being evaluated.
    pub language: QueryLanguage,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
}

impl<'a> EvalEnv<'a> {
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

    /// The same environment for a group written in `language`.
    pub fn speaking(&self, language: QueryLanguage) -> EvalEnv<'a> {
        EvalEnv { language, ..*self }
    }

    /// The expression's result at `t_ms`, native histograms included.
    pub fn instant_samples(&self, expr: &str, t_ms: i64) -> Result<Vec<Sample>, EvalError> {
        if self.language == QueryLanguage::LogQL {
            return self.logql_samples(expr, t_ms);
        }
        let querier = self.storage.querier();
        let out = self
            .engine
            .instant_query(querier.as_ref(), expr, t_ms, &QueryControl::default())
            .map_err(|e| EvalError::Query(e.to_string()))?;
        match out.value {
            Value::Vector(v) => Ok(v),
            Value::Scalar(v) => Ok(vec![scalar_sample(t_ms, v)]),
            other => Err(EvalError::BadResultType(other.type_name())),
        }
    }

    fn logql_samples(&self, expr: &str, t_ms: i64) -> Result<Vec<Sample>, EvalError> {
        let engine = self.logql.ok_or(EvalError::NoLogsStore)?;
        let out = engine
            .query_instant(expr, t_ms.saturating_mul(1_000_000))
            .map_err(|e| EvalError::Query(e.to_string()))?;
        match out.data {
            QueryData::Vector(v) => Ok(v),
            QueryData::Scalar(_, v) => Ok(vec![scalar_sample(t_ms, v)]),
            QueryData::Matrix(_) => Err(EvalError::BadResultType("matrix")),
            QueryData::Streams(_) => Err(EvalError::BadResultType("streams")),
        }
    }

    /// What a template's `query` returns.
    pub fn template_query(&self, expr: &str, t_ms: i64) -> Result<Vec<QuerySample>, EvalError> {
        if self.language == QueryLanguage::LogQL {
            return Ok(self
                .logql_samples(expr, t_ms)?
                .into_iter()
                .map(query_sample)
                .collect());
        }
        let querier = self.storage.querier();
        let out = self
            .engine
            .instant_query(querier.as_ref(), expr, t_ms, &QueryControl::default())
            .map_err(|e| EvalError::Query(e.to_string()))?;
        Ok(match out.value {
            Value::Vector(v) => v.into_iter().map(query_sample).collect(),
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

/// A scalar result as the one sample, without labels, that rules see.
pub(super) fn scalar_sample(t_ms: i64, v: f64) -> Sample {
    Sample {
        labels: Labels::default(),
        t: t_ms,
        v,
        h: None,
    }
}

fn query_sample(s: Sample) -> QuerySample {
    QuerySample {
        labels: s
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
        value: s.v,
    }
}
