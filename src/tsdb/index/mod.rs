//! The series index: interned label strings ([`symbols`]) and postings
//! ([`postings`]) answering "which series match these matchers" and the
//! label name / value listings.

mod label_index;
mod postings;
mod select;
mod symbols;

pub(crate) use label_index::LabelIndex;

/// A series' labels as interned `(name, value)` ids, in label-name order.
pub(crate) type LabelPairs = Box<[(u32, u32)]>;
