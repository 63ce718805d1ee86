//! A series identity: a set of `name="value"` pairs, kept sorted by name so
//! that equal sets compare, hash and print identically everywhere.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

/// The reserved label that carries the metric name.
pub const METRIC_NAME: &str = "__name__";

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: String,
    pub value: String,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A label set, sorted by name with unique names and no empty values.
///
/// Empty values are dropped on construction because Prometheus treats
/// `a=""` and "no label a" as the same series.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set from pairs in any order; a later duplicate name wins.
    pub fn new(mut labels: Vec<Label>) -> Self {
        labels.retain(|l| !l.value.is_empty());
        // Stable sort keeps insertion order among equal names, so keeping the
        // last of each run means "the later duplicate wins".
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out: Vec<Label> = Vec::with_capacity(labels.len());
        for l in labels {
            match out.last_mut() {
                Some(last) if last.name == l.name => *last = l,
                _ => out.push(l),
            }
        }
        Labels(out)
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Labels::new(pairs.iter().map(|(n, v)| Label::new(*n, *v)).collect())
    }

    /// Wraps labels the caller guarantees are sorted, unique and non-empty.
    pub fn from_sorted_unchecked(labels: Vec<Label>) -> Self {
        debug_assert!(labels.windows(2).all(|w| w[0].name < w[1].name));
        Labels(labels)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<Label> {
        self.0
    }

    /// A stable 64-bit hash of the set (xxh3 over `name 0xff value 0xff`).
    pub fn stable_hash(&self) -> u64 {
        self.hash_with(xxhash_rust::xxh3::xxh3_64, |h| h.digest())
    }

    /// A 128-bit xxh3 of the same bytes as [`Labels::stable_hash`]: wide
    /// enough to stand for the labels themselves where keeping them would
    /// cost more than the odds of a collision are worth (about 2^-64 for a
    /// target with 2^32 series).
    pub fn identity_hash(&self) -> u128 {
        self.hash_with(xxhash_rust::xxh3::xxh3_128, |h| h.digest128())
    }

    /// One-shot xxh3 over `name 0xff value 0xff ...`, in a stack buffer
    /// when it fits: the streaming hasher's state is large to set up, and
    /// this runs once per appended sample.
    fn hash_with<H>(&self, one_shot: fn(&[u8]) -> H, streamed: fn(&xxhash_rust::xxh3::Xxh3) -> H) -> H {
        const STACK: usize = 512;
        let len: usize = self.0.iter().map(|l| l.name.len() + l.value.len() + 2).sum();
        if len > STACK {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for l in &self.0 {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
            return streamed(&h);
        }
        let mut buf = [0u8; STACK];
        let mut at = 0;
        for l in &self.0 {
            for part in [l.name.as_bytes(), l.value.as_bytes()] {
                buf[at..at + part.len()].copy_from_slice(part);
                buf[at + part.len()] = 0xff;
                at += part.len() + 1;
            }
        }
        one_shot(&buf[..at])
    }

    pub fn builder(&self) -> LabelsBuilder {
        LabelsBuilder {
            labels: self.0.clone(),
        }
    }

    /// Bytes used by names and values; the basis for size limits.
    pub fn byte_len(&self) -> usize {
        self.0.iter().map(|l| l.name.len() + l.value.len()).sum()
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Prints as Prometheus does: `name{a="1", b="2"}`.
impl Labels {
    /// The labels as a name → value map, the shape the Prometheus and
    /// Alertmanager APIs give a label set in JSON.
    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter().map(|l| (l.name.clone(), l.value.clone())).collect()
    }
}

/// A JSON object `{"name": "value", …}` in label order, as every API writes
/// a label set.
impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for l in self {
            map.serialize_entry(&l.name, &l.value)?;
        }
        map.end()
    }
}

impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            f.write_str(name)?;
        }
        f.write_str("{")?;
        let mut first = true;
        for l in self.0.iter().filter(|l| l.name != METRIC_NAME) {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        f.write_str("}")
    }
}

/// Edits a label set; `build` restores the sorted, unique invariant.
#[derive(Clone, Debug, Default)]
pub struct LabelsBuilder {
    labels: Vec<Label>,
}

impl LabelsBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a label; an empty value deletes it.
    pub fn set(&mut self, name: &str, value: &str) -> &mut Self {
        match self.labels.iter_mut().find(|l| l.name == name) {
            Some(l) => l.value = value.to_string(),
            None => self.labels.push(Label::new(name, value)),
        }
        self
    }

    pub fn del(&mut self, name: &str) -> &mut Self {
        self.labels.retain(|l| l.name != name);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Label) -> bool) -> &mut Self {
        self.labels.retain(|l| keep(l));
        self
    }

    pub fn build(&self) -> Labels {
        Labels::new(self.labels.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stack-buffer path and the streaming path must agree: the hash
    /// names series in the head and scrape target identities.
    #[test]
    fn stable_hash_is_the_same_for_short_and_long_label_sets() {
        let streamed = |ls: &Labels| {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for l in ls.iter() {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xff]);
            }
            h
        };
        let short = Labels::from_pairs(&[("__name__", "up"), ("job", "lms")]);
        let long_value = "x".repeat(600);
        let long = Labels::from_pairs(&[("__name__", "up"), ("job", &long_value)]);
        assert_eq!(short.stable_hash(), streamed(&short).digest());
        assert_eq!(long.stable_hash(), streamed(&long).digest());
        assert_ne!(short.stable_hash(), long.stable_hash());
        assert_eq!(
            Labels::default().stable_hash(),
            streamed(&Labels::default()).digest()
        );
        assert_eq!(short.identity_hash(), streamed(&short).digest128());
        assert_eq!(long.identity_hash(), streamed(&long).digest128());
    }

    #[test]
    fn sorts_dedups_and_drops_empty_values() {
        let l = Labels::new(vec![
            Label::new("b", "2"),
            Label::new("a", "1"),
            Label::new("c", ""),
            Label::new("a", "3"),
        ]);
        assert_eq!(l, Labels::from_pairs(&[("a", "3"), ("b", "2")]));
        assert_eq!(l.get("a"), Some("3"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn displays_like_prometheus() {
        let l = Labels::from_pairs(&[("__name__", "up"), ("job", "a\"b")]);
        assert_eq!(l.to_string(), r#"up{job="a\"b"}"#);
    }

    #[test]
    fn builder_sets_and_deletes() {
        let l = Labels::from_pairs(&[("a", "1"), ("b", "2")]);
        let mut b = l.builder();
        b.set("c", "3").del("a").set("b", "");
        assert_eq!(b.build(), Labels::from_pairs(&[("c", "3")]));
    }
}
