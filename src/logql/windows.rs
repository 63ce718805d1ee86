//! Range aggregations over the steps of a query: each series' values are
//! folded into per-step buckets when every window is a whole number of
//! steps (one pass, memory per step, not per line), or kept whole and
//! windowed when the function needs every value (quantiles, deviations)
//! or the windows do not line up with the steps.

use crate::model::STALE_NAN;

use super::ast::RangeFn;

/// The steps of a query and the window each one reads:
/// `(t - offset - range, t - offset]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepGrid {
    pub start_ns: i64,
    pub step_ns: i64,
    pub steps: usize,
    pub range_ns: i64,
    pub offset_ns: i64,
}

impl StepGrid {
    pub fn step_time_ns(&self, i: usize) -> i64 {
        self.start_ns + i as i64 * self.step_ns
    }

    /// The oldest (exclusive) and newest (inclusive) line time any window reads.
    pub fn span_ns(&self) -> (i64, i64) {
        let base = self.start_ns - self.offset_ns;
        (
            base - self.range_ns,
            base + (self.steps as i64 - 1) * self.step_ns,
        )
    }

    /// Whether every window is a union of whole step intervals.
    pub fn bucketable(&self) -> bool {
        self.steps == 1 || self.range_ns % self.step_ns == 0
    }

    /// Intervals per window and in all, when bucketable.
    fn intervals(&self) -> (usize, usize) {
        if self.steps == 1 {
            return (1, 1);
        }
        let r = (self.range_ns / self.step_ns) as usize;
        (r, self.steps + r - 1)
    }

    /// The interval a line at `ts` falls in, when bucketable.
    fn interval_of(&self, ts: i64) -> Option<usize> {
        let (lo, hi) = self.span_ns();
        if ts <= lo || ts > hi {
            return None;
        }
        if self.steps == 1 {
            return Some(0);
        }
        let base = self.start_ns - self.offset_ns;
        let j = (ts - base - 1).div_euclid(self.step_ns) + 1;
        let (r, _) = self.intervals();
        usize::try_from(j + r as i64 - 1).ok()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    first: (i64, f64),
    last: (i64, f64),
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            first: (i64::MAX, 0.0),
            last: (i64::MIN, 0.0),
        }
    }
}

impl Bucket {
    fn add(&mut self, ts: i64, v: f64) {
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if ts < self.first.0 {
            self.first = (ts, v);
        }
        if ts >= self.last.0 {
            self.last = (ts, v);
        }
    }

    fn merge(&mut self, o: &Bucket) {
        self.count += o.count;
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        if o.first.0 < self.first.0 {
            self.first = o.first;
        }
        if o.last.0 >= self.last.0 {
            self.last = o.last;
        }
    }
}

/// One series' values while a query reads lines.
#[derive(Debug, Clone)]
pub enum SeriesAcc {
    Buckets(Vec<Bucket>),
    Raw(Vec<(i64, f64)>),
}

/// Whether `f` can be computed from per-interval buckets.
fn foldable(f: RangeFn) -> bool {
    !matches!(
        f,
        RangeFn::QuantileOverTime | RangeFn::StddevOverTime | RangeFn::StdvarOverTime | RangeFn::RateCounter
    )
}

impl SeriesAcc {
    pub fn new(grid: &StepGrid, f: RangeFn) -> SeriesAcc {
        if grid.bucketable() && foldable(f) {
            SeriesAcc::Buckets(vec![Bucket::default(); grid.intervals().1])
        } else {
            SeriesAcc::Raw(Vec::new())
        }
    }

    /// Adds a line's value; false when its time is outside every window.
    pub fn push(&mut self, grid: &StepGrid, ts: i64, v: f64) -> bool {
        match self {
            SeriesAcc::Buckets(b) => match grid.interval_of(ts).and_then(|i| b.get_mut(i)) {
                Some(bucket) => {
                    bucket.add(ts, v);
                    true
                }
                None => false,
            },
            SeriesAcc::Raw(r) => {
                let (lo, hi) = grid.span_ns();
                if ts <= lo || ts > hi {
                    return false;
                }
                r.push((ts, v));
                true
            }
        }
    }

    pub fn merge(&mut self, other: SeriesAcc) {
        match (self, other) {
            (SeriesAcc::Buckets(a), SeriesAcc::Buckets(b)) => {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.merge(y);
                }
            }
            (SeriesAcc::Raw(a), SeriesAcc::Raw(b)) => a.extend(b),
            _ => {}
        }
    }

    /// The value at every step (stale markers where a window is empty),
    /// with the step times in milliseconds.
    pub fn finish(self, grid: &StepGrid, f: RangeFn, param: Option<f64>) -> Vec<(i64, f64)> {
        let range_s = grid.range_ns as f64 / 1e9;
        let mut out = Vec::with_capacity(grid.steps);
        match self {
            SeriesAcc::Buckets(b) => {
                let (r, _) = grid.intervals();
                for i in 0..grid.steps {
                    let mut w = Bucket::default();
                    for bucket in &b[i..i + r] {
                        w.merge(bucket);
                    }
                    out.push((grid.step_time_ns(i) / 1_000_000, bucket_value(&w, f, range_s)));
                }
            }
            SeriesAcc::Raw(mut r) => {
                r.sort_by_key(|(t, _)| *t);
                let (mut lo, mut hi) = (0, 0);
                let mut values = Vec::new();
                for i in 0..grid.steps {
                    let end = grid.step_time_ns(i) - grid.offset_ns;
                    let start = end - grid.range_ns;
                    while hi < r.len() && r[hi].0 <= end {
                        hi += 1;
                    }
                    while lo < hi && r[lo].0 <= start {
                        lo += 1;
                    }
                    let window = &r[lo..hi];
                    values.clear();
                    values.extend(window.iter().map(|(_, v)| *v));
                    let v = if window.is_empty() {
                        STALE_NAN
                    } else {
                        raw_value(window, &mut values, f, param, range_s)
                    };
                    out.push((grid.step_time_ns(i) / 1_000_000, v));
                }
            }
        }
        out
    }
}

fn bucket_value(w: &Bucket, f: RangeFn, range_s: f64) -> f64 {
    if w.count == 0 {
        return STALE_NAN;
    }
    match f {
        RangeFn::CountOverTime => w.count as f64,
        RangeFn::Rate | RangeFn::BytesRate => w.sum / range_s,
        RangeFn::BytesOverTime | RangeFn::SumOverTime => w.sum,
        RangeFn::AvgOverTime => w.sum / w.count as f64,
        RangeFn::MinOverTime => w.min,
        RangeFn::MaxOverTime => w.max,
        RangeFn::FirstOverTime => w.first.1,
        RangeFn::LastOverTime => w.last.1,
        // Absent windows are found by the caller; the others are not folded.
        _ => STALE_NAN,
    }
}

fn raw_value(window: &[(i64, f64)], values: &mut [f64], f: RangeFn, param: Option<f64>, range_s: f64) -> f64 {
    let n = values.len() as f64;
    let sum: f64 = values.iter().sum();
    match f {
        RangeFn::CountOverTime => n,
        RangeFn::Rate | RangeFn::BytesRate => sum / range_s,
        RangeFn::BytesOverTime | RangeFn::SumOverTime => sum,
        RangeFn::AvgOverTime => sum / n,
        RangeFn::MinOverTime => values.iter().copied().fold(f64::INFINITY, f64::min),
        RangeFn::MaxOverTime => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        RangeFn::FirstOverTime => window[0].1,
        RangeFn::LastOverTime => window[window.len() - 1].1,
        RangeFn::StdvarOverTime | RangeFn::StddevOverTime => {
            let mean = sum / n;
            let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            if f == RangeFn::StddevOverTime {
                var.sqrt()
            } else {
                var
            }
        }
        // Loki's `quantile_over_time` is Prometheus's `quantile`.
        RangeFn::QuantileOverTime => crate::promql::quantile(param.unwrap_or(0.5), values),
        RangeFn::AbsentOverTime => STALE_NAN,
        RangeFn::RateCounter => counter_rate(window, range_s),
    }
}

/// Loki's `rate_counter`: the increase of the values read as a counter (a
/// drop is a reset to zero), extrapolated as Prometheus's `rate` is, per
/// second of the range. Loki takes the window to start a whole range
/// before the first sample and to end at the last one, so the start is
/// extrapolated by half an interval (or to the counter's zero) and the end
/// not at all; fewer than two samples give 0.
fn counter_rate(window: &[(i64, f64)], range_s: f64) -> f64 {
    let (Some(&(t0, v0)), Some(&(tn, vn))) = (window.first(), window.last()) else {
        return 0.0;
    };
    if window.len() < 2 {
        return 0.0;
    }
    let mut increase = vn - v0;
    let mut previous = 0.0;
    for &(_, v) in window {
        if v < previous {
            increase += previous;
        }
        previous = v;
    }
    let sampled = (tn - t0) as f64 / 1e9;
    let average_gap = sampled / (window.len() - 1) as f64;
    let mut to_start = range_s;
    if increase > 0.0 && v0 >= 0.0 {
        to_start = to_start.min(sampled * (v0 / increase));
    }
    let mut interval = sampled;
    interval += if to_start < average_gap * 1.1 {
        to_start
    } else {
        average_gap / 2.0
    };
    increase * (interval / sampled) / range_s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_stale_nan;

    const S: i64 = 1_000_000_000;

    fn grid(steps: usize, step: i64, range: i64) -> StepGrid {
        StepGrid {
            start_ns: 100 * S,
            step_ns: step * S,
            steps,
            range_ns: range * S,
            offset_ns: 0,
        }
    }

    fn values(out: &[(i64, f64)]) -> Vec<Option<f64>> {
        out.iter()
            .map(|(_, v)| (!is_stale_nan(*v)).then_some(*v))
            .collect()
    }

    #[test]
    fn rate_counter_counts_resets_and_extrapolates_as_loki() {
        // 10 → 20 → 5: a reset, so the increase is 10 + 5 = 15 over 20 s;
        // the counter's zero lies 13.3 s before the first sample, beyond
        // 1.1 gaps, so half a gap (5 s) is added: 15 × 25/20 per 60 s.
        let window = [(10 * S, 10.0), (20 * S, 20.0), (30 * S, 5.0)];
        assert!((counter_rate(&window, 60.0) - 0.3125).abs() < 1e-12);
        assert_eq!(counter_rate(&window[..1], 60.0), 0.0);
        // Starting near zero, the start is extrapolated to the zero point.
        let window = [(10 * S, 1.0), (20 * S, 11.0)];
        assert!((counter_rate(&window, 60.0) - 11.0 / 60.0).abs() < 1e-12);
    }

    /// Buckets and raw windows give the same answers where both apply.
    #[test]
    fn buckets_agree_with_raw_windows() {
        let g = grid(5, 10, 20);
        let lines = [
            (85, 1.0),
            (90, 2.0),
            (91, 5.0),
            (100, 3.0),
            (119, 4.0),
            (120, 1.0),
            (135, 7.0),
        ];
        for f in [
            RangeFn::CountOverTime,
            RangeFn::SumOverTime,
            RangeFn::AvgOverTime,
            RangeFn::MinOverTime,
            RangeFn::MaxOverTime,
            RangeFn::FirstOverTime,
            RangeFn::LastOverTime,
            RangeFn::Rate,
        ] {
            let mut b = SeriesAcc::new(&g, f);
            let mut r = SeriesAcc::Raw(Vec::new());
            for (t, v) in lines {
                b.push(&g, t * S, v);
                r.push(&g, t * S, v);
            }
            assert!(matches!(b, SeriesAcc::Buckets(_)));
            assert_eq!(
                values(&b.finish(&g, f, None)),
                values(&r.finish(&g, f, None)),
                "{f:?}"
            );
        }
    }

    #[test]
    fn windows_are_left_open_right_closed() {
        let g = grid(3, 10, 10);
        let mut a = SeriesAcc::new(&g, RangeFn::CountOverTime);
        for t in [90, 91, 100, 110, 111] {
            a.push(&g, t * S, 1.0);
        }
        // Windows (90,100], (100,110], (110,120].
        assert_eq!(
            values(&a.finish(&g, RangeFn::CountOverTime, None)),
            [Some(2.0), Some(1.0), Some(1.0)]
        );
        let mut a = SeriesAcc::new(&g, RangeFn::CountOverTime);
        a.push(&g, 115 * S, 1.0);
        assert_eq!(
            values(&a.finish(&g, RangeFn::CountOverTime, None)),
            [None, None, Some(1.0)]
        );
    }

    #[test]
    fn quantiles_and_deviations() {
        let g = grid(1, 1, 60);
        let mut a = SeriesAcc::new(&g, RangeFn::QuantileOverTime);
        for (i, v) in [1.0, 2.0, 3.0, 4.0].into_iter().enumerate() {
            a.push(&g, (50 + i as i64) * S, v);
        }
        let b = a.clone();
        assert_eq!(
            values(&a.finish(&g, RangeFn::QuantileOverTime, Some(0.5))),
            [Some(2.5)]
        );
        assert_eq!(values(&b.finish(&g, RangeFn::StdvarOverTime, None)), [Some(1.25)]);
    }
}
