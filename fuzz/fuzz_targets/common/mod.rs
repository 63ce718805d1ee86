//! Helpers shared by the fuzz targets (each target includes this module).

#![allow(dead_code)]

use belfry::model::{Labels, MatchOp, Matcher};
use belfry::tsdb::{MemStorage, Storage};

/// Every float sample in `storage`, by series, values as bits so NaNs
/// compare equal.
pub fn dump(storage: &MemStorage) -> Vec<(Labels, Vec<(i64, u64)>)> {
    let any_name = Matcher::new(MatchOp::Regex, "__name__", ".+").expect("valid regex");
    let series = storage
        .querier()
        .select(&[any_name], i64::MIN, i64::MAX)
        .expect("memory storage selects");
    series
        .into_iter()
        .map(|mut s| {
            let mut samples = Vec::new();
            while let Some((t, v)) = s.samples.next() {
                samples.push((t, v.to_bits()));
            }
            (s.labels, samples)
        })
        .collect()
}

/// Takes the first byte of `data` as flags.
pub fn split_flags(data: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (data.len() >= n).then(|| data.split_at(n))
}
