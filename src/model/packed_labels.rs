//! A label set packed into one byte string, `name 0xff value 0xff ...`, for
//! places that hold many label sets only to hand them back later (the
//! scrape loop's staleness cache, an appender's new series): one allocation
//! instead of one per name and value. The bytes are exactly what
//! [`Labels::stable_hash`] hashes, so the packed form hashes alike.

use super::{Label, Labels};

/// Ends each name and each value; never part of UTF-8 text.
const SEPARATOR: u8 = 0xff;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackedLabels(Box<[u8]>);

impl PackedLabels {
    pub fn new(labels: &Labels) -> Self {
        let len = labels.iter().map(|l| l.name.len() + l.value.len() + 2).sum();
        let mut out = Vec::with_capacity(len);
        for l in labels {
            out.extend_from_slice(l.name.as_bytes());
            out.push(SEPARATOR);
            out.extend_from_slice(l.value.as_bytes());
            out.push(SEPARATOR);
        }
        PackedLabels(out.into_boxed_slice())
    }

    /// The `(name, value)` pairs, in label-name order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut parts = self
            .0
            .split(|&b| b == SEPARATOR)
            // Packed from `String`s, so each part is UTF-8.
            .map(|p| std::str::from_utf8(p).unwrap_or_default());
        std::iter::from_fn(move || Some((parts.next()?, parts.next()?)))
    }

    /// How many labels.
    pub fn len(&self) -> usize {
        self.0.iter().filter(|&&b| b == SEPARATOR).count() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether this spells exactly `labels`.
    pub fn matches(&self, labels: &Labels) -> bool {
        let mut pairs = self.pairs();
        labels
            .iter()
            .all(|l| pairs.next() == Some((l.name.as_str(), l.value.as_str())))
            && pairs.next().is_none()
    }

    /// Equal to `labels.stable_hash()` of the labels packed.
    pub fn stable_hash(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.0)
    }

    pub fn to_labels(&self) -> Labels {
        Labels::from_sorted_unchecked(self.pairs().map(|(n, v)| Label::new(n, v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_compares_and_hashes_like_labels() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "a,b=\"c\""), ("ünï", "ç ø")]);
        let p = PackedLabels::new(&l);
        assert_eq!(p.to_labels(), l);
        assert_eq!(p.len(), 3);
        assert!(p.matches(&l));
        assert!(!p.matches(&Labels::from_pairs(&[("__name__", "up")])));
        assert_eq!(p.stable_hash(), l.stable_hash());
        let empty = PackedLabels::new(&Labels::default());
        assert!(empty.is_empty());
        assert_eq!(empty.to_labels(), Labels::default());
        assert_eq!(empty.stable_hash(), Labels::default().stable_hash());
    }
}
