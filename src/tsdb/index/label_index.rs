//! The label index: a series' labels as interned pairs, the postings over
//! them, and the label name and value listings.

use roaring::RoaringTreemap;

use crate::model::{Label, Labels, PackedLabels};

use super::LabelPairs;
use super::postings::Postings;
use super::symbols::Symbols;

#[derive(Default)]
pub(crate) struct LabelIndex {
    pub(super) symbols: Symbols,
    pub(super) postings: Postings,
}

impl LabelIndex {
    /// Interns a series' labels and adds it to the postings.
    pub(crate) fn add_series(&mut self, series_ref: u64, labels: &Labels) -> LabelPairs {
        let pairs: LabelPairs = labels
            .iter()
            .map(|l| (self.symbols.intern(&l.name), self.symbols.intern(&l.value)))
            .collect();
        self.postings.add(series_ref, &pairs);
        pairs
    }

    /// [`Self::add_series`] for packed labels.
    pub(crate) fn add_packed_series(&mut self, series_ref: u64, labels: &PackedLabels) -> LabelPairs {
        let pairs: LabelPairs = labels
            .pairs()
            .map(|(n, v)| (self.symbols.intern(n), self.symbols.intern(v)))
            .collect();
        self.postings.add(series_ref, &pairs);
        pairs
    }

    /// Whether interned pairs spell exactly `labels`.
    pub(crate) fn same_packed_labels(&self, pairs: &[(u32, u32)], labels: &PackedLabels) -> bool {
        let mut it = labels.pairs();
        pairs
            .iter()
            .all(|&(n, v)| it.next() == Some((self.symbols.resolve(n), self.symbols.resolve(v))))
            && it.next().is_none()
    }

    pub(crate) fn remove_series(&mut self, series_ref: u64, pairs: &[(u32, u32)]) {
        self.postings.remove(series_ref, pairs);
    }

    pub(crate) fn labels(&self, pairs: &[(u32, u32)]) -> Labels {
        Labels::from_sorted_unchecked(
            pairs
                .iter()
                .map(|&(n, v)| Label::new(self.symbols.resolve(n), self.symbols.resolve(v)))
                .collect(),
        )
    }

    /// Whether interned pairs spell exactly `labels` (hash collisions are
    /// resolved with this).
    pub(crate) fn same_labels(&self, pairs: &[(u32, u32)], labels: &Labels) -> bool {
        pairs.len() == labels.len()
            && pairs
                .iter()
                .zip(labels.iter())
                .all(|(&(n, v), l)| self.symbols.resolve(n) == l.name && self.symbols.resolve(v) == l.value)
    }

    /// Label names that have at least one series, sorted.
    pub(crate) fn all_label_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .postings
            .names()
            .map(|n| self.symbols.resolve(n).to_string())
            .collect();
        names.sort();
        names
    }

    /// Values of `name` with their series.
    pub(crate) fn label_values(&self, name: &str) -> Vec<(&str, &RoaringTreemap)> {
        let Some(id) = self.symbols.get(name) else {
            return Vec::new();
        };
        self.postings
            .values(id)
            .map(|(v, b)| (self.symbols.resolve(v), b))
            .collect()
    }

    pub(crate) fn num_label_pairs(&self) -> usize {
        self.postings.num_pairs()
    }
}
