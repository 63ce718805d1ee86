//! Native-histogram samples held by [`MemStorage`](super::MemStorage).
//!
//! Only the in-memory store keeps native histograms: rule unit tests and
//! PromQL tests load them from the series notation. The persistent engine
//! stores floats only (remote write counts and drops histogram samples).
//!
//! Counter-reset hints are reported the way Prometheus's head chunks report
//! them on read, because rule tests compare them: the first histogram of a
//! series (or the first after a float sample) keeps an explicit `reset` or
//! `gauge` hint and is otherwise `unknown`; later ones are `reset` when the
//! counter went down (or the producer said so) and `not_reset` otherwise.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{CounterResetHint, FloatHistogram, Labels};

use super::HistogramSeries;

#[derive(Default)]
pub(super) struct MemHistograms {
    series: BTreeMap<Labels, Vec<(i64, Arc<FloatHistogram>)>>,
}

impl MemHistograms {
    /// Merges samples into a series; a sample at a timestamp the series
    /// already has is skipped, never overwritten. Returns (written, skipped).
    pub(super) fn insert(&mut self, labels: Labels, samples: Vec<(i64, FloatHistogram)>) -> (usize, usize) {
        let existing = self.series.entry(labels).or_default();
        let samples = samples.into_iter().map(|(t, h)| (t, Arc::new(h))).collect();
        super::mem::merge_samples(existing, samples)
    }

    pub(super) fn series(&self) -> impl Iterator<Item = (&Labels, &[(i64, Arc<FloatHistogram>)])> {
        self.series.iter().map(|(l, s)| (l, s.as_slice()))
    }

    /// The samples of one series in `[mint, maxt]` with the hints a read
    /// reports; `floats` are the series' float samples (a float between two
    /// histograms starts a new run, as a new chunk does in Prometheus).
    pub(super) fn read(
        samples: &[(i64, Arc<FloatHistogram>)],
        floats: &[(i64, f64)],
        mint: i64,
        maxt: i64,
    ) -> Vec<(i64, Arc<FloatHistogram>)> {
        let mut out = Vec::new();
        let mut prev: Option<&(i64, Arc<FloatHistogram>)> = None;
        for sample in samples {
            let (t, h) = sample;
            let continues = prev.filter(|(pt, _)| {
                let lo = floats.partition_point(|f| f.0 <= *pt);
                floats.get(lo).is_none_or(|f| f.0 >= *t)
            });
            let hint = match (h.counter_reset_hint, continues) {
                (CounterResetHint::Gauge, _) => CounterResetHint::Gauge,
                (CounterResetHint::CounterReset, _) => CounterResetHint::CounterReset,
                (_, None) => CounterResetHint::Unknown,
                (_, Some((_, p))) if went_down(p, h) => CounterResetHint::CounterReset,
                (_, Some(_)) => CounterResetHint::NotCounterReset,
            };
            prev = Some(sample);
            if *t < mint || *t > maxt {
                continue;
            }
            let h = if hint == h.counter_reset_hint {
                h.clone()
            } else {
                Arc::new(FloatHistogram {
                    counter_reset_hint: hint,
                    ..(**h).clone()
                })
            };
            out.push((*t, h));
        }
        out
    }

    pub(super) fn select(
        &self,
        floats: &BTreeMap<Labels, Vec<(i64, f64)>>,
        mut wanted: impl FnMut(&Labels) -> bool,
        mint: i64,
        maxt: i64,
    ) -> Vec<HistogramSeries> {
        let mut out = Vec::new();
        for (labels, samples) in &self.series {
            if !wanted(labels) {
                continue;
            }
            let f = floats.get(labels).map(Vec::as_slice).unwrap_or(&[]);
            let samples = Self::read(samples, f, mint, maxt);
            if samples.is_empty() {
                continue;
            }
            out.push(HistogramSeries {
                labels: labels.clone(),
                samples,
            });
        }
        out
    }
}

/// Whether `next` shows a counter reset after `prev`: a lower count or zero
/// bucket, a finer schema, or any bucket lower than before.
fn went_down(prev: &FloatHistogram, next: &FloatHistogram) -> bool {
    if next.count < prev.count || next.zero_count < prev.zero_count || next.schema > prev.schema {
        return true;
    }
    let Ok(diff) = next.sub(prev) else {
        return true;
    };
    diff.positive_buckets
        .iter()
        .chain(&diff.negative_buckets)
        .any(|c| *c < 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Span;

    fn h(count: f64) -> FloatHistogram {
        FloatHistogram {
            count,
            sum: count,
            positive_spans: vec![Span { offset: 0, length: 1 }],
            positive_buckets: vec![count],
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn hints_as_head_chunks_report_them() {
        let samples: Vec<(i64, Arc<FloatHistogram>)> =
            [(0, h(2.0)), (1, h(3.0)), (2, h(1.0)), (3, h(1.0)), (5, h(2.0))]
                .into_iter()
                .map(|(t, h)| (t, Arc::new(h)))
                .collect();
        let floats = [(4, 7.0)];
        let read = MemHistograms::read(&samples, &floats, 0, 10);
        let hints: Vec<_> = read.iter().map(|(_, h)| h.counter_reset_hint).collect();
        use CounterResetHint::*;
        assert_eq!(
            hints,
            vec![Unknown, NotCounterReset, CounterReset, NotCounterReset, Unknown]
        );
        let window = MemHistograms::read(&samples, &floats, 1, 2);
        assert_eq!(window.len(), 2);
        assert_eq!(window[0].1.counter_reset_hint, NotCounterReset);
    }

    #[test]
    fn gauge_histograms_stay_gauges_and_duplicates_are_skipped() {
        let mut m = MemHistograms::default();
        let mut g = h(5.0);
        g.counter_reset_hint = CounterResetHint::Gauge;
        let labels = Labels::from_pairs(&[("__name__", "x")]);
        assert_eq!(
            m.insert(labels.clone(), vec![(0, g.clone()), (1, h(1.0))]),
            (2, 0)
        );
        assert_eq!(m.insert(labels, vec![(1, h(9.0))]), (0, 1));
        let got = m.select(&BTreeMap::new(), |_| true, 0, 10);
        assert_eq!(got[0].samples[0].1.counter_reset_hint, CounterResetHint::Gauge);
        assert_eq!(got[0].samples[1].1.count, 1.0);
    }
}
