//! The `by`/`without` grouping of an aggregation: which labels a series'
//! group keeps, and the hash its group is found by.

use promql_parser::parser::{AggregateExpr, LabelModifier};

use crate::model::{Label, Labels};

/// `(without, label names)` of an aggregation's modifier.
pub(crate) fn grouping(a: &AggregateExpr) -> (bool, Vec<String>) {
    match &a.modifier {
        Some(LabelModifier::Include(l)) => (false, l.labels.clone()),
        Some(LabelModifier::Exclude(l)) => (true, l.labels.clone()),
        None => (false, Vec::new()),
    }
}

/// The labels of `m` that its group keeps.
fn grouped<'a>(m: &'a Labels, without: bool, names: &'a [String]) -> impl Iterator<Item = &'a Label> + 'a {
    m.iter().filter(move |l| {
        if without {
            l.name != "__name__" && !names.contains(&l.name)
        } else {
            names.contains(&l.name)
        }
    })
}

pub(crate) fn group_labels(m: &Labels, without: bool, names: &[String]) -> Labels {
    Labels::from_sorted_unchecked(grouped(m, without, names).cloned().collect())
}

pub(crate) fn group_hash(m: &Labels, without: bool, names: &[String]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for l in grouped(m, without, names) {
        h.update(l.name.as_bytes());
        h.update(&[0xff]);
        h.update(l.value.as_bytes());
        h.update(&[0xff]);
    }
    h.digest()
}
