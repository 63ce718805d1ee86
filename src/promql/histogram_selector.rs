//! Native-histogram samples for instant vector selectors.
//!
//! Histograms come from [`Querier::select_histograms`], kept apart from the
//! float path so the float selectors stay as fast as they are: only stores
//! that hold histograms (MemStorage, for rule unit tests) return any, and
//! then each selector node loads its histogram series once per query and
//! merges them into the float result at each step.

use std::collections::HashMap;
use std::sync::Arc;

use promql_parser::parser::VectorSelector;

use crate::model::{FloatHistogram, Labels, MatchOp, Matcher, is_stale_nan};
use crate::tsdb::Querier;

use super::error::PromqlError;
use super::node::NodeId;
use super::selector::selector_matcher_sets;
use super::value::Elem;

/// One series' histogram samples and the times of its float stale markers
/// (a stale marker after a histogram ends the series as it ends floats).
struct HistogramSeries {
    metric: Arc<Labels>,
    samples: Vec<(i64, Arc<FloatHistogram>)>,
    stale: Vec<i64>,
}

impl HistogramSeries {
    /// The newest histogram in `(ref_t - lookback, ref_t]`, unless a stale
    /// marker follows it.
    fn at(&self, ref_t: i64, lookback: i64) -> Option<&(i64, Arc<FloatHistogram>)> {
        let idx = self.samples.partition_point(|s| s.0 <= ref_t);
        let found = self.samples.get(idx.checked_sub(1)?)?;
        if found.0 <= ref_t - lookback {
            return None;
        }
        let after = self.stale.partition_point(|t| *t <= found.0);
        if self.stale.get(after).is_some_and(|t| *t <= ref_t) {
            return None;
        }
        Some(found)
    }
}

struct Loaded {
    mint: i64,
    maxt: i64,
    series: Vec<HistogramSeries>,
}

/// Per selector node, its histogram series over the span read.
#[derive(Default)]
pub(crate) struct SelectorHistograms {
    loaded: HashMap<NodeId, Loaded>,
}

impl SelectorHistograms {
    /// Merges the selector's histogram samples at `ref_t` into `out`, the
    /// float samples it found: per series the newer sample wins.
    pub fn merge_into(
        &mut self,
        querier: &dyn Querier,
        vs: &VectorSelector,
        span: (i64, i64),
        ref_t: i64,
        lookback: i64,
        out: &mut Vec<Elem>,
    ) -> Result<(), PromqlError> {
        let key = NodeId::of_selector(vs);
        let (mint, maxt) = (span.0.min(ref_t - lookback), span.1.max(ref_t));
        let fits = self
            .loaded
            .get(&key)
            .is_some_and(|l| l.mint <= mint && l.maxt >= maxt);
        if !fits {
            let series = load(querier, vs, mint, maxt)?;
            self.loaded.insert(key, Loaded { mint, maxt, series });
        }
        let loaded = &self.loaded[&key];
        if loaded.series.is_empty() {
            return Ok(());
        }
        let mut added = false;
        for s in &loaded.series {
            let Some((t, h)) = s.at(ref_t, lookback) else {
                continue;
            };
            let elem = Elem {
                metric: s.metric.clone(),
                t: *t,
                v: 0.0,
                h: Some(h.clone()),
                drop_name: false,
            };
            match out.iter_mut().find(|e| e.metric == s.metric) {
                Some(float) if float.t < *t => *float = elem,
                Some(_) => {}
                None => {
                    out.push(elem);
                    added = true;
                }
            }
        }
        if added {
            // Selector output is in label order, as storage returns it.
            out.sort_by(|a, b| a.metric.cmp(&b.metric));
        }
        Ok(())
    }
}

fn load(
    querier: &dyn Querier,
    vs: &VectorSelector,
    mint: i64,
    maxt: i64,
) -> Result<Vec<HistogramSeries>, PromqlError> {
    let mut by_labels: std::collections::BTreeMap<Labels, Vec<(i64, Arc<FloatHistogram>)>> =
        Default::default();
    for set in &selector_matcher_sets(vs)? {
        for s in querier.select_histograms(set, mint, maxt)? {
            by_labels.entry(s.labels).or_insert(s.samples);
        }
    }
    let mut out = Vec::with_capacity(by_labels.len());
    for (labels, samples) in by_labels {
        let exact: Vec<Matcher> = labels
            .iter()
            .filter_map(|l| Matcher::new(MatchOp::Equal, &l.name, &l.value).ok())
            .collect();
        let mut stale = Vec::new();
        for mut floats in querier.select(&exact, mint, maxt)? {
            if floats.labels != labels {
                continue;
            }
            while let Some((t, v)) = floats.samples.next() {
                if is_stale_nan(v) {
                    stale.push(t);
                }
            }
        }
        out.push(HistogramSeries {
            metric: Arc::new(labels),
            samples,
            stale,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::model::{FloatHistogram, Labels, STALE_NAN, Span};
    use crate::promql::{Engine, EngineOptions, QueryControl, Value};
    use crate::selfmetrics::Registry;
    use crate::tsdb::{MemStorage, Storage};

    fn hist(count: f64) -> FloatHistogram {
        FloatHistogram {
            count,
            sum: count * 2.0,
            positive_spans: vec![Span { offset: 0, length: 1 }],
            positive_buckets: vec![count],
            ..FloatHistogram::default()
        }
    }

    /// `h` holds histograms at 0, 60 s and 120 s and a stale marker at
    /// 180 s; `mixed` a float at 0 and a histogram at 60 s; `f` floats.
    fn storage() -> MemStorage {
        let s = MemStorage::new();
        let l = |n: &str| Labels::from_pairs(&[("__name__", n), ("job", "a")]);
        s.backfill(vec![
            (l("h"), vec![(180_000, STALE_NAN)]),
            (l("mixed"), vec![(0, 5.0)]),
            (l("f"), vec![(0, 1.0), (60_000, 2.0)]),
        ])
        .unwrap();
        s.backfill_histograms(vec![
            (
                l("h"),
                vec![(0, hist(1.0)), (60_000, hist(2.0)), (120_000, hist(3.0))],
            ),
            (l("mixed"), vec![(60_000, hist(7.0))]),
        ])
        .unwrap();
        s
    }

    fn engine() -> Engine {
        Engine::new(EngineOptions::for_tests(), &Registry::new())
    }

    fn instant(q: &str, t: i64) -> (Vec<crate::promql::Sample>, Vec<String>) {
        let s = storage();
        let out = engine()
            .instant_query(&*s.querier(), q, t, &QueryControl::default())
            .unwrap();
        let Value::Vector(v) = out.value else {
            panic!("{:?}", out.value)
        };
        (v, out.annotations.infos)
    }

    #[test]
    fn selectors_return_the_newest_histogram() {
        let (v, _) = instant("h", 130_000);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].h.as_ref().unwrap().count, 3.0);
        // The second sample of the series reads back as "not a reset".
        let (v, _) = instant("h", 60_000);
        assert_eq!(
            v[0].h.as_ref().unwrap().counter_reset_hint,
            crate::model::CounterResetHint::NotCounterReset
        );
    }

    #[test]
    fn a_stale_marker_ends_a_histogram_series() {
        let (v, _) = instant("h", 180_000);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn the_newer_sample_wins_in_a_mixed_series() {
        let (v, _) = instant("mixed", 30_000);
        assert_eq!((v[0].v, v[0].h.is_none()), (5.0, true));
        let (v, _) = instant("mixed", 90_000);
        assert_eq!(v[0].h.as_ref().unwrap().count, 7.0);
        let (v, _) = instant("{job=\"a\"}", 90_000);
        let names: Vec<_> = v.iter().map(|s| s.labels.metric_name().unwrap_or("")).collect();
        assert_eq!(names, vec!["f", "h", "mixed"], "label order");
    }

    #[test]
    fn label_functions_and_set_operators_pass_histograms_on() {
        let (v, _) = instant(r#"label_replace(h, "x", "y", "", "")"#, 60_000);
        assert_eq!(v[0].labels.get("x"), Some("y"));
        assert!(v[0].h.is_some());
        let (v, _) = instant("h or vector(1)", 60_000);
        assert_eq!(v.len(), 2);
        let (v, _) = instant("timestamp(h)", 60_000);
        assert_eq!((v[0].v, v[0].h.is_none()), (60.0, true));
        let (v, _) = instant("absent(h)", 60_000);
        assert!(v.is_empty());
    }

    #[test]
    fn float_operations_drop_histograms_and_say_so() {
        let (v, infos) = instant("abs(h) or f", 60_000);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].labels.metric_name(), Some("f"));
        assert!(
            infos
                .iter()
                .any(|i| i.contains("ignored native histogram samples")),
            "{infos:?}"
        );
        let (v, _) = instant("h * 2", 60_000);
        assert!(v.is_empty());
        let (v, _) = instant("sum(h)", 60_000);
        assert!(v.is_empty());
    }

    #[test]
    fn range_queries_return_histogram_points() {
        let s = storage();
        let out = engine()
            .range_query(&*s.querier(), "h", 0, 120_000, 60_000, &QueryControl::default())
            .unwrap();
        let Value::Matrix(m) = out.value else {
            panic!("{:?}", out.value)
        };
        assert_eq!(m.len(), 1);
        assert!(m[0].points.is_empty());
        let counts: Vec<f64> = m[0].histograms.iter().map(|(_, h)| h.count).collect();
        assert_eq!(counts, vec![1.0, 2.0, 3.0]);
    }
}
