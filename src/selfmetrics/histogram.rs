//! A cumulative histogram with fixed buckets, for latencies: Prometheus's
//! `histogram_quantile` reads its `_bucket` series, so a dashboard gets
//! tail latency where a `_seconds_total` counter gives only a mean.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::registry::write_float;

/// Upper bounds (seconds) that suit disk syncs and index commits: from a
/// fast SSD's fsync to a stalled disk.
pub const DISK_LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug)]
pub struct Histogram {
    /// Sorted upper bounds, without `+Inf`.
    bounds: Vec<f64>,
    /// Per bound, the observations at most that bound and above the
    /// previous one; the last slot is `+Inf`. Cumulated when rendered, so
    /// an observation touches one atomic.
    counts: Vec<AtomicU64>,
    /// `f64` bits.
    sum: AtomicU64,
}

impl Histogram {
    /// # Panics
    /// When `bounds` is not strictly increasing or holds a non-finite
    /// value: a programming error, caught by the first test that registers
    /// it.
    pub fn new(bounds: &[f64]) -> Histogram {
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]) && bounds.iter().all(|b| b.is_finite()),
            "histogram bounds must be finite and strictly increasing: {bounds:?}"
        );
        Histogram {
            bounds: bounds.to_vec(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn observe(&self, v: f64) {
        let slot = self.bounds.partition_point(|b| *b < v);
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        let mut cur = self.sum.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(cur) + v).to_bits();
            match self
                .sum
                .compare_exchange_weak(cur, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    pub fn observe_duration(&self, d: std::time::Duration) {
        self.observe(d.as_secs_f64());
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum.load(Ordering::Relaxed))
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of the text format.
    pub(crate) fn render(&self, out: &mut String, name: &str) {
        let mut cumulative = 0u64;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            let _ = write!(out, "{name}_bucket{{le=\"");
            match self.bounds.get(i) {
                Some(b) => write_float(out, *b),
                None => out.push_str("+Inf"),
            }
            let _ = writeln!(out, "\"}} {cumulative}");
        }
        let _ = write!(out, "{name}_sum ");
        write_float(out, self.sum());
        out.push('\n');
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::new(&[0.1, 1.0]);
        h.observe(0.1);
        h.observe(0.5);
        h.observe(3.0);
        let mut out = String::new();
        h.render(&mut out, "x_seconds");
        assert_eq!(
            out,
            "x_seconds_bucket{le=\"0.1\"} 1\nx_seconds_bucket{le=\"1\"} 2\nx_seconds_bucket{le=\"+Inf\"} 3\n\
             x_seconds_sum 3.6\nx_seconds_count 3\n"
        );
        assert_eq!(h.count(), 3);
    }

    #[test]
    #[should_panic(expected = "strictly increasing")]
    fn unsorted_bounds_are_refused() {
        Histogram::new(&[1.0, 0.5]);
    }
}
