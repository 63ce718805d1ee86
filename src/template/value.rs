//! The values a template works with: Go's scalars, string maps (label
//! sets), and the query results `query` returns.

use std::collections::BTreeMap;
use std::sync::Arc;

/// One element of a `query` result: `.Labels` and `.Value`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TValue {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A string-keyed map (label sets, `args`); a missing key reads as ""
    /// (Prometheus runs templates with `missingkey=zero`).
    Map(Arc<BTreeMap<String, TValue>>),
    /// A query result.
    List(Arc<Vec<TValue>>),
    Sample(Arc<QuerySample>),
    /// Alertmanager's `KV` (labels, annotations): a map with the methods
    /// `SortedPairs`, `Names`, `Values` and `Remove`.
    Kv(Arc<BTreeMap<String, String>>),
    /// `KV.SortedPairs`: name/value pairs, `alertname` first, with `Names`
    /// and `Values`.
    Pairs(Arc<Vec<(String, String)>>),
    /// Alertmanager's `Alerts`: a list with `Firing` and `Resolved`.
    Alerts(Arc<Vec<TValue>>),
    /// An instant in a time zone (`StartsAt`, `tz`'s result).
    Time(chrono::DateTime<chrono_tz::Tz>),
    /// `safeHtml`'s result: printed unescaped in HTML templates.
    Html(String),
}

impl TValue {
    pub fn str(s: impl Into<String>) -> TValue {
        TValue::Str(s.into())
    }

    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TValue {
        TValue::Map(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), TValue::str(v)))
                .collect(),
        ))
    }

    /// Go's truth: false, 0, nil and empty things are false.
    pub fn truthy(&self) -> bool {
        match self {
            TValue::Nil => false,
            TValue::Bool(b) => *b,
            TValue::Int(i) => *i != 0,
            TValue::Float(f) => *f != 0.0,
            TValue::Str(s) => !s.is_empty(),
            TValue::Map(m) => !m.is_empty(),
            TValue::List(l) => !l.is_empty(),
            TValue::Sample(_) | TValue::Time(_) => true,
            TValue::Kv(m) => !m.is_empty(),
            TValue::Pairs(p) => !p.is_empty(),
            TValue::Alerts(l) => !l.is_empty(),
            TValue::Html(s) => !s.is_empty(),
        }
    }

    pub fn kv<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> TValue {
        TValue::Kv(Arc::new(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            TValue::Int(i) => Some(*i as f64),
            TValue::Float(f) => Some(*f),
            _ => None,
        }
    }
}
