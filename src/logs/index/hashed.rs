//! Finding lines by a value kept as a hash: the request id and the user
//! token. Days of format 3 keep no terms for them: an equality scans the
//! day's hash column for the value's hash and checks each candidate's
//! stored value; any other test (a regex, a negation) checks the stored
//! value of the lines the query's other clauses leave. Older days answer
//! an equality from their terms.

use std::ops::Bound;
use std::sync::Arc;

use tantivy::query::{AllQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, Value as _};
use tantivy::{TantivyDocument, Term};

use super::fields::{LogFields, value_hash};
use super::read_budget::ReadBudget;
use super::verified_query::VerifiedQuery;

/// The stored value of `field`, empty when the document has none.
fn stored(d: &TantivyDocument, field: Field) -> &str {
    d.get_first(field).and_then(|v| v.as_str()).unwrap_or_default()
}

/// Lines of a day with schema `schema` whose `field` is `value`.
pub fn exact_is(
    schema: &Schema,
    f: &LogFields,
    field: Field,
    value: &str,
    budget: &Arc<ReadBudget>,
) -> Box<dyn Query> {
    let Some((hash, _)) = f.hash_column(schema, field) else {
        return Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ));
    };
    let h = value_hash(value);
    let candidates = Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_u64(hash, h)),
        Bound::Included(Term::from_field_u64(hash, h)),
    ));
    let wanted = value.to_string();
    Box::new(VerifiedQuery::new(
        candidates,
        format!("{} = {value:?}", schema.get_field_name(field)),
        Arc::new(move |d| stored(d, field) == wanted),
        budget,
    ))
}

/// Lines whose `field` (empty when they have none) passes `check`, read
/// from the stored documents: for tests a hash cannot answer.
pub fn exact_where(
    field: Field,
    what: String,
    check: impl Fn(&str) -> bool + Send + Sync + 'static,
    budget: &Arc<ReadBudget>,
) -> Box<dyn Query> {
    Box::new(VerifiedQuery::new(
        Box::new(AllQuery),
        what,
        Arc::new(move |d| check(stored(d, field))),
        budget,
    ))
}
