//! Series selection: turning a parsed selector into matcher sets, and the
//! two forms the query's cache keeps selected series in: loaded once over
//! the whole time span a selector is evaluated at (then read by binary
//! search at each step), or streamed forward step by step.

use std::sync::Arc;

use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::VectorSelector;

use crate::model::{Labels, METRIC_NAME, MatchOp, Matcher, is_stale_nan};
use crate::tsdb::SampleIter;

use super::error::PromqlError;
use super::value::Points;

/// The matcher sets a selector means: one set, or one per `or` alternative.
/// Regexes are compiled (anchored) here, once per query.
pub fn selector_matcher_sets(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, PromqlError> {
    let convert = |m: &promql_parser::label::Matcher| -> Result<Matcher, PromqlError> {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Regex,
            PMatchOp::NotRe(_) => MatchOp::NotRegex,
        };
        Matcher::new(op, m.name.clone(), m.value.clone()).map_err(|e| PromqlError::BadData(e.to_string()))
    };
    let mut base = Vec::new();
    if let Some(name) = &vs.name {
        base.push(Matcher::equal(METRIC_NAME, name.clone()));
    }
    let groups: Vec<&Vec<promql_parser::label::Matcher>> = if vs.matchers.or_matchers.is_empty() {
        vec![&vs.matchers.matchers]
    } else {
        vs.matchers.or_matchers.iter().collect()
    };
    let mut sets = Vec::with_capacity(groups.len());
    for g in groups {
        let mut set = base.clone();
        for m in g {
            set.push(convert(m)?);
        }
        sets.push(set);
    }
    Ok(sets)
}

/// One selected series with its samples (stale markers kept: they end the
/// series for lookback).
pub(crate) struct LoadedSeries {
    pub metric: Arc<Labels>,
    pub samples: Arc<[(i64, f64)]>,
    /// Whether any sample is a stale marker (windows must then skip them).
    pub has_stale: bool,
    /// Where the last window started and ended: the next one, a step
    /// later, is found by walking on from there instead of searching.
    pub cursor: std::cell::Cell<(usize, usize)>,
}

pub(crate) struct Loaded {
    pub mint: i64,
    pub maxt: i64,
    pub series: Vec<LoadedSeries>,
}

impl LoadedSeries {
    /// The index of the first sample after `t`, walking forward from
    /// `hint` when that is at most a few samples behind, else searching.
    fn first_after(&self, hint: usize, t: i64) -> usize {
        let s = &self.samples;
        let hint_ok = hint <= s.len() && (hint == 0 || s[hint - 1].0 <= t);
        if hint_ok {
            let mut i = hint;
            for _ in 0..16 {
                if i == s.len() || s[i].0 > t {
                    return i;
                }
                i += 1;
            }
            return i + s[i..].partition_point(|x| x.0 <= t);
        }
        s.partition_point(|x| x.0 <= t)
    }

    /// The newest non-stale sample in `(ref_t - lookback, ref_t]`; a stale
    /// marker as the newest sample means the series has ended.
    pub fn at(&self, ref_t: i64, lookback: i64) -> Option<(i64, f64)> {
        let idx = self.samples.partition_point(|s| s.0 <= ref_t);
        if idx == 0 {
            return None;
        }
        let (t, v) = self.samples[idx - 1];
        if t <= ref_t - lookback || is_stale_nan(v) {
            return None;
        }
        Some((t, v))
    }

    /// Samples in `(ref_t - range, ref_t]` without stale markers: a shared
    /// window when the series has none, else a filtered copy.
    pub fn window(&self, ref_t: i64, range: i64) -> Points {
        let lo = self.first_after(self.cursor.get().0, ref_t - range);
        let hi = self.first_after(self.cursor.get().1, ref_t).max(lo);
        self.cursor.set((lo, hi));
        if !self.has_stale {
            return Points::Window(self.samples.clone(), lo..hi);
        }
        Points::Owned(
            self.samples[lo..hi]
                .iter()
                .copied()
                .filter(|s| !is_stale_nan(s.1))
                .collect(),
        )
    }
}

/// One selected series read forward as evaluation times advance: only the
/// newest sample at or before the last time asked and the one after it are
/// held, so an instant selector over a long range query never holds the
/// whole range (storage decodes chunk by chunk behind the iterator).
pub(crate) struct StreamedSeries {
    pub metric: Arc<Labels>,
    iter: Box<dyn SampleIter>,
    maxt: i64,
    prev: Option<(i64, f64)>,
    next: Option<(i64, f64)>,
}

/// An instant selector's series, streamed; `last_ref` is the newest
/// reference time read so far (times must not go back).
pub(crate) struct Streamed {
    pub last_ref: i64,
    pub series: Vec<StreamedSeries>,
}

impl StreamedSeries {
    pub fn new(metric: Arc<Labels>, mut iter: Box<dyn SampleIter>, mint: i64, maxt: i64) -> Self {
        let next = iter.seek(mint).filter(|s| s.0 <= maxt);
        StreamedSeries {
            metric,
            iter,
            maxt,
            prev: None,
            next,
        }
    }

    /// The newest non-stale sample in `(ref_t - lookback, ref_t]`, reading
    /// forward to `ref_t`; returns it and how many samples were read.
    pub fn at(&mut self, ref_t: i64, lookback: i64) -> (Option<(i64, f64)>, usize) {
        let mut read = 0;
        while let Some(n) = self.next {
            if n.0 > ref_t {
                break;
            }
            self.prev = Some(n);
            self.next = self.iter.next().filter(|s| s.0 <= self.maxt);
            read += 1;
        }
        let found = self
            .prev
            .filter(|(t, v)| *t > ref_t - lookback && !is_stale_nan(*v));
        (found, read)
    }
}
