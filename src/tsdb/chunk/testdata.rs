//! Scrape-like sample series for size measurements and benchmarks:
//! 15 s interval with ±50 ms jitter, counters and gauges. Deterministic,
//! so figures are reproducible.

/// A small xorshift generator; test data needs repeatability, not quality.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An integer counter (requests) rising by 0..=20 per scrape.
    CounterInt,
    /// A float counter (seconds spent) rising by a random fraction.
    CounterFloat,
    /// A float gauge taking random-walk steps.
    GaugeWalk,
    /// An integer gauge (bytes in use) taking random-walk steps.
    GaugeInt,
}

pub const SHAPES: [Shape; 4] = [
    Shape::CounterInt,
    Shape::CounterFloat,
    Shape::GaugeWalk,
    Shape::GaugeInt,
];

/// `n` samples of one series: timestamps every 15 s ± 50 ms from a
/// realistic epoch, values of the given shape.
pub fn series(shape: Shape, n: usize, seed: u64) -> (Vec<i64>, Vec<f64>) {
    let mut rng = TestRng::new(seed);
    let start = 1_700_000_000_000i64;
    let ts = (0..n as i64)
        .map(|i| start + i * 15_000 + rng.range(-50, 50))
        .collect();
    let mut x: f64 = match shape {
        Shape::GaugeInt => 512.0 * 1024.0 * 1024.0,
        _ => 1000.0,
    };
    let vs = (0..n)
        .map(|_| {
            x = match shape {
                Shape::CounterInt => x + rng.range(0, 20) as f64,
                Shape::CounterFloat => x + rng.unit() * 0.5,
                Shape::GaugeWalk => x + (rng.unit() - 0.5) * 2.0,
                Shape::GaugeInt => (x + rng.range(-65_536, 65_536) as f64).max(0.0),
            };
            x
        })
        .collect();
    (ts, vs)
}
