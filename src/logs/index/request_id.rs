//! Finding lines by request id. Days of format 3 keep no request-id
//! terms: an equality scans the day's `request_id_hash` column for the
//! value's hash and checks each candidate's stored id; any other test
//! (a regex, a negation) checks the stored id of the lines the query's
//! other clauses leave. Older days answer an equality from their terms.

use std::ops::Bound;
use std::sync::Arc;

use tantivy::query::{AllQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, Value as _};
use tantivy::{TantivyDocument, Term};

use super::fields::{LogFields, request_id_hash};
use super::verified_query::VerifiedQuery;

/// The stored request id of a document, empty when it has none.
fn stored_request_id(f: &LogFields, d: &TantivyDocument) -> String {
    d.get_first(f.request_id)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Lines of a day with schema `schema` whose request id is `value`.
pub fn request_id_is(schema: &Schema, f: &LogFields, value: &str) -> Box<dyn Query> {
    if !LogFields::hashes_request_id(schema) {
        return Box::new(TermQuery::new(
            Term::from_field_text(f.request_id, value),
            IndexRecordOption::Basic,
        ));
    }
    let h = request_id_hash(value);
    let candidates = Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(f.request_id_hash, h)),
        Bound::Included(Term::from_field_u64(f.request_id_hash, h)),
    ));
    let (fields, wanted) = (f.clone(), value.to_string());
    Box::new(VerifiedQuery::new(
        candidates,
        format!("request_id = {value:?}"),
        Arc::new(move |d| stored_request_id(&fields, d) == wanted),
    ))
}

/// Lines whose request id (empty when they have none) passes `check`,
/// read from the stored documents: for tests the hash cannot answer.
pub fn request_id_where(
    f: &LogFields,
    what: String,
    check: impl Fn(&str) -> bool + Send + Sync + 'static,
) -> Box<dyn Query> {
    let fields = f.clone();
    Box::new(VerifiedQuery::new(
        Box::new(AllQuery),
        what,
        Arc::new(move |d| check(&stored_request_id(&fields, d))),
    ))
}
