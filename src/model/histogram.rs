//! Native histograms in their float form, as Prometheus stores and queries
//! them: exponential buckets (`schema` -4..=8, bucket `i` covering
//! `(2^((i-1)/2^schema), 2^(i/2^schema)]`), a zero bucket around 0, or custom
//! bucket bounds (schema -53), and counts kept as absolute floats.
//!
//! Only the arithmetic the product needs lives here: adding and subtracting
//! (series notation in rule unit tests builds sequences that way), bucket
//! bounds for output, and a layout-independent comparison.

use std::collections::BTreeMap;

/// The schema of histograms with custom bucket bounds (`custom_values`).
pub const CUSTOM_BUCKETS_SCHEMA: i32 = -53;

/// A run of consecutive buckets: it starts `offset` bucket indexes after the
/// previous span's end (after index 0 for the first span).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: i32,
    pub length: u32,
}

/// What the producer said about counter resets at this sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterResetHint {
    #[default]
    Unknown,
    CounterReset,
    NotCounterReset,
    Gauge,
}

impl CounterResetHint {
    /// The spelling of the series notation (`counter_reset_hint:not_reset`).
    pub fn notation(self) -> &'static str {
        match self {
            CounterResetHint::Unknown => "unknown",
            CounterResetHint::CounterReset => "reset",
            CounterResetHint::NotCounterReset => "not_reset",
            CounterResetHint::Gauge => "gauge",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FloatHistogram {
    pub schema: i32,
    pub zero_threshold: f64,
    pub zero_count: f64,
    pub count: f64,
    pub sum: f64,
    pub positive_spans: Vec<Span>,
    pub positive_buckets: Vec<f64>,
    pub negative_spans: Vec<Span>,
    pub negative_buckets: Vec<f64>,
    /// Upper bounds of the buckets when `schema` is [`CUSTOM_BUCKETS_SCHEMA`].
    pub custom_values: Vec<f64>,
    pub counter_reset_hint: CounterResetHint,
}

/// One bucket with its bounds, for output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistogramError {
    #[error("histograms with custom bucket bounds and exponential ones cannot be combined")]
    MixedSchemas,
    #[error("histograms with different custom bucket bounds cannot be combined")]
    CustomBoundsDiffer,
    #[error("bucket spans cover {spans} buckets but {buckets} bucket counts are given")]
    SpanMismatch { spans: usize, buckets: usize },
    #[error("schema {0} is not supported: exponential schemas are -4 to 8, custom buckets are -53")]
    BadSchema(i32),
}

impl FloatHistogram {
    pub fn uses_custom_buckets(&self) -> bool {
        self.schema == CUSTOM_BUCKETS_SCHEMA
    }

    /// Checks that the spans and bucket counts agree and the schema exists.
    pub fn validate(&self) -> Result<(), HistogramError> {
        if !(self.uses_custom_buckets() || (-4..=8).contains(&self.schema)) {
            return Err(HistogramError::BadSchema(self.schema));
        }
        for (spans, buckets) in [
            (&self.positive_spans, &self.positive_buckets),
            (&self.negative_spans, &self.negative_buckets),
        ] {
            let covered: usize = spans.iter().map(|s| s.length as usize).sum();
            if covered != buckets.len() {
                return Err(HistogramError::SpanMismatch {
                    spans: covered,
                    buckets: buckets.len(),
                });
            }
        }
        Ok(())
    }

    /// `self + other`, at the coarser of the two schemas.
    pub fn add(&self, other: &FloatHistogram) -> Result<FloatHistogram, HistogramError> {
        self.combine(other, 1.0)
    }

    /// `self - other`, at the coarser of the two schemas.
    pub fn sub(&self, other: &FloatHistogram) -> Result<FloatHistogram, HistogramError> {
        self.combine(other, -1.0)
    }

    fn combine(&self, other: &FloatHistogram, sign: f64) -> Result<FloatHistogram, HistogramError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::MixedSchemas);
        }
        if self.uses_custom_buckets() && self.custom_values != other.custom_values {
            return Err(HistogramError::CustomBoundsDiffer);
        }
        let schema = self.schema.min(other.schema);
        // A wider zero bucket swallows the other side's buckets inside it.
        let zero_threshold = self.zero_threshold.max(other.zero_threshold);
        let (mut pos, mut neg, mut zero) = (BTreeMap::new(), BTreeMap::new(), 0.0);
        for (h, factor) in [(self, 1.0), (other, sign)] {
            zero += factor * h.zero_count;
            for (index, count) in h.indexed(&h.positive_spans, &h.positive_buckets) {
                let index = reduce_index(index, h.schema, schema);
                if !self.uses_custom_buckets() && upper_bound(index, schema) <= zero_threshold {
                    zero += factor * count;
                    continue;
                }
                *pos.entry(index).or_insert(0.0) += factor * count;
            }
            for (index, count) in h.indexed(&h.negative_spans, &h.negative_buckets) {
                let index = reduce_index(index, h.schema, schema);
                if upper_bound(index, schema) <= zero_threshold {
                    zero += factor * count;
                    continue;
                }
                *neg.entry(index).or_insert(0.0) += factor * count;
            }
        }
        let (positive_spans, positive_buckets) = spans_of(&pos);
        let (negative_spans, negative_buckets) = spans_of(&neg);
        Ok(FloatHistogram {
            schema,
            zero_threshold,
            zero_count: zero,
            count: self.count + sign * other.count,
            sum: self.sum + sign * other.sum,
            positive_spans,
            positive_buckets,
            negative_spans,
            negative_buckets,
            custom_values: self.custom_values.clone(),
            counter_reset_hint: self.counter_reset_hint,
        })
    }

    /// `(bucket index, count)` of one side's buckets.
    fn indexed<'a>(&self, spans: &'a [Span], buckets: &'a [f64]) -> impl Iterator<Item = (i32, f64)> + 'a {
        // The first span's offset counts from index 0, each later one from
        // one past the previous span's last bucket.
        let starts = spans.iter().scan(0i32, |next, span| {
            let start = *next + span.offset;
            *next = start + span.length as i32;
            Some((start, span.length))
        });
        starts
            .flat_map(|(start, length)| (0..length as i32).map(move |i| start + i))
            .zip(buckets.iter().copied())
    }

    /// Non-empty bucket counts by side and index, for comparing histograms
    /// whose span layouts differ but whose buckets agree.
    fn bucket_maps(&self) -> (BTreeMap<i32, u64>, BTreeMap<i32, u64>) {
        let map = |spans: &[Span], buckets: &[f64]| {
            self.indexed(spans, buckets)
                .filter(|(_, c)| *c != 0.0)
                .map(|(i, c)| (i, c.to_bits()))
                .collect::<BTreeMap<_, _>>()
        };
        (
            map(&self.positive_spans, &self.positive_buckets),
            map(&self.negative_spans, &self.negative_buckets),
        )
    }

    /// Equal in every field, with bucket layouts compared by their non-empty
    /// buckets (how they are split into spans does not matter).
    pub fn same_as(&self, other: &FloatHistogram) -> bool {
        let float_eq = |a: f64, b: f64| a.to_bits() == b.to_bits() || a == b || (a.is_nan() && b.is_nan());
        self.schema == other.schema
            && float_eq(self.zero_threshold, other.zero_threshold)
            && float_eq(self.zero_count, other.zero_count)
            && float_eq(self.count, other.count)
            && float_eq(self.sum, other.sum)
            && self.custom_values == other.custom_values
            && self.counter_reset_hint == other.counter_reset_hint
            && self.bucket_maps() == other.bucket_maps()
    }

    /// Every bucket from the lowest to the highest: negative buckets, the
    /// zero bucket, positive buckets. Empty buckets are included.
    pub fn buckets(&self) -> Vec<Bucket> {
        let mut out = Vec::new();
        if self.uses_custom_buckets() {
            for (index, count) in self.indexed(&self.positive_spans, &self.positive_buckets) {
                let at = |i: i32| -> f64 {
                    match usize::try_from(i) {
                        Ok(i) => self.custom_values.get(i).copied().unwrap_or(f64::INFINITY),
                        Err(_) => f64::NEG_INFINITY,
                    }
                };
                out.push(Bucket {
                    lower: at(index - 1),
                    upper: at(index),
                    lower_inclusive: false,
                    upper_inclusive: true,
                    count,
                });
            }
            return out;
        }
        let negative: Vec<(i32, f64)> = self
            .indexed(&self.negative_spans, &self.negative_buckets)
            .collect();
        for (index, count) in negative.into_iter().rev() {
            out.push(Bucket {
                lower: -upper_bound(index, self.schema),
                upper: -upper_bound(index - 1, self.schema),
                lower_inclusive: true,
                upper_inclusive: false,
                count,
            });
        }
        if self.zero_count != 0.0 || self.zero_threshold != 0.0 {
            out.push(Bucket {
                lower: -self.zero_threshold,
                upper: self.zero_threshold,
                lower_inclusive: true,
                upper_inclusive: true,
                count: self.zero_count,
            });
        }
        for (index, count) in self.indexed(&self.positive_spans, &self.positive_buckets) {
            out.push(Bucket {
                lower: upper_bound(index - 1, self.schema),
                upper: upper_bound(index, self.schema),
                lower_inclusive: false,
                upper_inclusive: true,
                count,
            });
        }
        out
    }
}

/// The upper bound of exponential bucket `index` at `schema`:
/// `2^(index / 2^schema)`, exact in its power-of-two part.
pub fn upper_bound(index: i32, schema: i32) -> f64 {
    if schema <= 0 {
        let exp = (index as i64) << (-schema);
        return if exp >= 1024 {
            f64::MAX
        } else {
            2f64.powi(exp as i32)
        };
    }
    let per_octave = 1i32 << schema;
    let octave = index.div_euclid(per_octave);
    let step = index.rem_euclid(per_octave);
    2f64.powf(step as f64 / per_octave as f64) * 2f64.powi(octave)
}

/// The index a bucket falls into when its histogram is re-expressed at a
/// coarser schema (`to <= from`): each step down merges pairs of buckets.
fn reduce_index(index: i32, from: i32, to: i32) -> i32 {
    if from == CUSTOM_BUCKETS_SCHEMA || from <= to {
        return index;
    }
    let shift = from - to;
    // Bucket i at the finer schema lies in bucket ceil(i / 2^shift).
    (index + (1 << shift) - 1) >> shift
}

/// Spans and counts for buckets keyed by index: one span per run of
/// consecutive indexes.
fn spans_of(buckets: &BTreeMap<i32, f64>) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut counts = Vec::with_capacity(buckets.len());
    let mut next: Option<i32> = None;
    for (&index, &count) in buckets {
        match (next, spans.last_mut()) {
            (Some(n), Some(last)) if n == index => last.length += 1,
            (Some(n), _) => spans.push(Span {
                offset: index - n,
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: index,
                length: 1,
            }),
        }
        counts.push(count);
        next = Some(index + 1);
    }
    (spans, counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(sum: f64, count: f64, buckets: &[f64], offset: i32) -> FloatHistogram {
        FloatHistogram {
            sum,
            count,
            positive_spans: vec![Span {
                offset,
                length: buckets.len() as u32,
            }],
            positive_buckets: buckets.to_vec(),
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn adds_matching_layouts() {
        let a = simple(3.0, 2.0, &[2.0], 0);
        let b = simple(1.3, 1.0, &[1.0], 0);
        let c = a.add(&b).unwrap().add(&b).unwrap();
        assert!(c.same_as(&simple(5.6, 4.0, &[4.0], 0)), "{c:?}");
    }

    #[test]
    fn adds_disjoint_layouts_into_separate_spans() {
        let a = simple(1.0, 1.0, &[1.0], -2);
        let b = simple(1.0, 2.0, &[2.0], 3);
        let c = a.add(&b).unwrap();
        assert_eq!(
            c.positive_spans,
            vec![
                Span {
                    offset: -2,
                    length: 1
                },
                Span { offset: 4, length: 1 }
            ]
        );
        assert_eq!(c.positive_buckets, vec![1.0, 2.0]);
        assert_eq!(c.count, 3.0);
    }

    #[test]
    fn subtracts() {
        let a = simple(5.0, 4.0, &[1.0, 3.0], 0);
        let b = simple(1.0, 1.0, &[1.0], 1);
        let c = a.sub(&b).unwrap();
        assert!(c.same_as(&simple(4.0, 3.0, &[1.0, 2.0], 0)));
    }

    #[test]
    fn coarser_schema_merges_bucket_pairs() {
        assert_eq!(reduce_index(1, 1, 0), 1);
        assert_eq!(reduce_index(2, 1, 0), 1);
        assert_eq!(reduce_index(3, 1, 0), 2);
        assert_eq!(reduce_index(0, 1, 0), 0);
        assert_eq!(reduce_index(-1, 1, 0), 0);
        assert_eq!(reduce_index(-2, 1, 0), -1);
    }

    #[test]
    fn bounds_follow_the_schema() {
        assert_eq!(upper_bound(0, 0), 1.0);
        assert_eq!(upper_bound(1, 0), 2.0);
        assert_eq!(upper_bound(-1, 0), 0.5);
        assert_eq!(upper_bound(2, 1), 2.0);
        assert!((upper_bound(1, 1) - std::f64::consts::SQRT_2).abs() < 1e-15);
        assert_eq!(upper_bound(1, -1), 4.0);
    }

    #[test]
    fn buckets_in_ascending_order() {
        let h = FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 1.0,
            count: 4.0,
            positive_spans: vec![Span { offset: 0, length: 1 }],
            positive_buckets: vec![2.0],
            negative_spans: vec![Span { offset: 1, length: 1 }],
            negative_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        let b = h.buckets();
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].lower, b[0].upper, b[0].lower_inclusive), (-2.0, -1.0, true));
        assert_eq!((b[1].lower, b[1].upper, b[1].count), (-0.001, 0.001, 1.0));
        assert_eq!((b[2].lower, b[2].upper, b[2].upper_inclusive), (0.5, 1.0, true));
    }

    #[test]
    fn validate_names_the_problem() {
        let mut h = simple(1.0, 1.0, &[1.0, 2.0], 0);
        h.positive_spans[0].length = 3;
        assert_eq!(
            h.validate(),
            Err(HistogramError::SpanMismatch { spans: 3, buckets: 2 })
        );
        h.schema = 9;
        assert_eq!(h.validate(), Err(HistogramError::BadSchema(9)));
    }

    #[test]
    fn custom_bounds_must_agree() {
        let mut a = simple(1.0, 1.0, &[1.0], 0);
        a.schema = CUSTOM_BUCKETS_SCHEMA;
        a.custom_values = vec![1.0, 2.0];
        let mut b = a.clone();
        b.custom_values = vec![1.0];
        assert_eq!(a.add(&b), Err(HistogramError::CustomBoundsDiffer));
        assert_eq!(
            a.add(&simple(1.0, 1.0, &[1.0], 0)),
            Err(HistogramError::MixedSchemas)
        );
        let bk = a.buckets();
        assert_eq!((bk[0].lower, bk[0].upper), (f64::NEG_INFINITY, 1.0));
    }
}
