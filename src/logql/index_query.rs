//! Turning a stream selector and its line filters into a tantivy query
//! over one day index. Matchers become sets of the terms the day holds
//! (enumerated from the term dictionaries, so every operator is exact);
//! `|=` filters become a superset query over the message's words, which
//! the pipeline then checks on the line itself.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;

use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RangeQuery, RegexQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use crate::logs::Level;
use crate::logs::index::{LONG_MARK, LogFields, ReadBudget, exact_is, exact_where, marks_around, word_mark};
use crate::model::{MatchOp, Matcher};

use super::ast::{LabelFilter, LineFilter, LineFilterOp, Stage};
use super::error::LogqlError;

/// Where a selector's label name is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Service,
    Level,
    Text(Field),
    Status,
    /// A stream label (`labels.*`).
    Label(String),
}

/// Grafana names the service `service_name`; Belfry's field is `service`.
pub fn target(f: &LogFields, name: &str) -> Target {
    match name {
        "service" | "service_name" => Target::Service,
        "level" | "detected_level" => Target::Level,
        "request_id" => Target::Text(f.request_id),
        "user" => Target::Text(f.user),
        "path" => Target::Text(f.path),
        "status" => Target::Status,
        other => Target::Label(other.to_string()),
    }
}

type Clauses = Vec<(Occur, Box<dyn Query>)>;

fn text_terms(searcher: &Searcher, field: Field) -> Result<BTreeSet<String>, LogqlError> {
    let mut out = BTreeSet::new();
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(field)?;
        let mut s = inv.terms().stream()?;
        while s.advance() {
            if let Ok(v) = std::str::from_utf8(s.key()) {
                out.insert(v.to_string());
            }
        }
    }
    Ok(out)
}

/// The dictionary key prefix of a stream label's string values.
fn label_prefix(name: &str) -> Vec<u8> {
    let mut p = name.as_bytes().to_vec();
    p.push(0);
    p.push(b's');
    p
}

/// Every value the day holds for the stream label `name`.
pub fn label_terms(searcher: &Searcher, f: &LogFields, name: &str) -> Result<BTreeSet<String>, LogqlError> {
    let prefix = label_prefix(name);
    let mut upper = name.as_bytes().to_vec();
    upper.push(1);
    let mut out = BTreeSet::new();
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(f.labels)?;
        let mut s = inv.terms().range().ge(&prefix).lt(&upper).into_stream()?;
        while s.advance() {
            if let Some(v) = s.key().strip_prefix(prefix.as_slice())
                && let Ok(v) = std::str::from_utf8(v)
            {
                out.insert(v.to_string());
            }
        }
    }
    Ok(out)
}

/// Every stream label name the day holds.
pub fn label_names(searcher: &Searcher, f: &LogFields) -> Result<BTreeSet<String>, LogqlError> {
    let mut out = BTreeSet::new();
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(f.labels)?;
        let mut s = inv.terms().stream()?;
        while s.advance() {
            let key = s.key();
            if let Some(end) = key.iter().position(|b| *b == 0)
                && let Ok(n) = std::str::from_utf8(&key[..end])
            {
                out.insert(n.replace('\u{1}', "."));
            }
        }
    }
    Ok(out)
}

fn u64_terms(searcher: &Searcher, field: Field) -> Result<BTreeSet<u64>, LogqlError> {
    let mut out = BTreeSet::new();
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(field)?;
        let mut s = inv.terms().stream()?;
        while s.advance() {
            if let Ok(b) = <[u8; 8]>::try_from(s.key()) {
                out.insert(u64::from_be_bytes(b));
            }
        }
    }
    Ok(out)
}

pub fn label_term(f: &LogFields, name: &str, value: &str) -> Term {
    let mut t = Term::from_field_json_path(f.labels, &name.replace('.', "\\."), false);
    t.append_type_and_str(value);
    t
}

/// Every value the day holds for `t`, as text, with its term.
pub fn values_of(searcher: &Searcher, f: &LogFields, t: &Target) -> Result<Vec<(String, Term)>, LogqlError> {
    Ok(match t {
        Target::Service => text_terms(searcher, f.service)?
            .into_iter()
            .map(|v| {
                let term = Term::from_field_text(f.service, &v);
                (v, term)
            })
            .collect(),
        // Days of format 3 keep request ids and users as hashes: no
        // values to list.
        Target::Text(field) if f.hash_column(searcher.schema(), *field).is_some() => Vec::new(),
        Target::Text(field) => text_terms(searcher, *field)?
            .into_iter()
            .map(|v| {
                let term = Term::from_field_text(*field, &v);
                (v, term)
            })
            .collect(),
        Target::Level => Level::ALL
            .into_iter()
            .map(|l| (l.as_str().to_string(), Term::from_field_u64(f.level, l as u64)))
            .collect(),
        Target::Status => u64_terms(searcher, f.status)?
            .into_iter()
            .map(|s| (s.to_string(), Term::from_field_u64(f.status, s)))
            .collect(),
        Target::Label(name) => label_terms(searcher, f, name)?
            .into_iter()
            .map(|v| {
                let term = label_term(f, name, &v);
                (v, term)
            })
            .collect(),
    })
}

/// Whether some line of the day has a value for `t`.
pub fn has_values(searcher: &Searcher, f: &LogFields, t: &Target) -> Result<bool, LogqlError> {
    if let Target::Text(field) = t
        && let Some((_, column)) = f.hash_column(searcher.schema(), *field)
    {
        for seg in searcher.segment_readers() {
            let col = seg.fast_fields().column_opt::<u64>(column)?;
            if col.is_some_and(|c| c.values.num_vals() > 0) {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    Ok(!values_of(searcher, f, t)?.is_empty())
}

/// The clause one matcher makes, or `None` when no line of the day can
/// match it.
fn matcher_clause(
    searcher: &Searcher,
    f: &LogFields,
    m: &Matcher,
    reads: &Arc<ReadBudget>,
) -> Result<Option<Clauses>, LogqlError> {
    let t = target(f, &m.name);
    // Request ids and users of format-3 days: the hash column for an
    // equality, the stored values for any other test.
    if let Target::Text(field) = t
        && f.hash_column(searcher.schema(), field).is_some()
    {
        let q = if m.op == MatchOp::Equal && !m.value.is_empty() {
            exact_is(searcher.schema(), f, field, &m.value, reads)
        } else {
            let matcher = m.clone();
            exact_where(field, format!("{matcher:?}"), move |v| matcher.matches(v), reads)
        };
        return Ok(Some(vec![(Occur::Must, q)]));
    }
    // An equality needs no enumeration.
    if m.op == MatchOp::Equal && !m.value.is_empty() {
        let term = match &t {
            Target::Service => Term::from_field_text(f.service, &m.value),
            Target::Text(field) => Term::from_field_text(*field, &m.value),
            Target::Label(name) => label_term(f, name, &m.value),
            Target::Level | Target::Status => {
                let matching: Vec<Term> = values_of(searcher, f, &t)?
                    .into_iter()
                    .filter(|(v, _)| m.matches(v))
                    .map(|(_, t)| t)
                    .collect();
                if matching.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(vec![(Occur::Must, Box::new(TermSetQuery::new(matching)))]));
            }
        };
        return Ok(Some(vec![(
            Occur::Must,
            Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        )]));
    }
    let (matching, other): (Vec<_>, Vec<_>) = values_of(searcher, f, &t)?
        .into_iter()
        .partition(|(v, _)| m.matches(v));
    if m.matches_empty() {
        // Lines without the label match: exclude those whose value does not.
        if other.is_empty() {
            return Ok(Some(Vec::new()));
        }
        return Ok(Some(vec![(
            Occur::MustNot,
            Box::new(TermSetQuery::new(other.into_iter().map(|(_, t)| t))),
        )]));
    }
    if matching.is_empty() {
        return Ok(None);
    }
    Ok(Some(vec![(
        Occur::Must,
        Box::new(TermSetQuery::new(matching.into_iter().map(|(_, t)| t))),
    )]))
}

/// The longest word tantivy's default tokenizer keeps (days before
/// format 3).
const MAX_WORD: usize = 40;

/// A query every line containing `needle` matches: each of its words,
/// exact where the needle bounds it and as a prefix, suffix or infix of
/// an indexed word where the needle may cut a word. In days that mark
/// the words they do not keep (`marks`), a word the index does not hold
/// is looked up as its mark, and a cut word may also lie inside such a
/// word, so lines with the marks it could lie inside are taken too (the
/// pipeline checks every line). `None` when the needle has no word to look up.
fn needle_query(field: Field, needle: &str, marks: bool) -> Option<Box<dyn Query>> {
    let mut parts: Clauses = Vec::new();
    let mut words = Vec::new();
    let mut start = None;
    for (i, c) in needle.char_indices().chain(std::iter::once((needle.len(), ' '))) {
        if c.is_alphanumeric() && i < needle.len() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            words.push((s, i));
        }
    }
    let mark = |mark: &str| -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, mark),
            IndexRecordOption::Basic,
        ))
    };
    for (s, e) in words {
        let word = needle[s..e].to_lowercase();
        let open_left = s == 0;
        let open_right = e == needle.len();
        let bounded = !open_left && !open_right;
        match word_mark(&word) {
            // Any word containing a long one is long too; a word the
            // needle bounds is exactly this one.
            Some(m) if marks && (bounded || m == LONG_MARK) => {
                parts.push((Occur::Must, mark(m)));
                continue;
            }
            // A cut id may lie inside a longer word that is not hex,
            // which the index holds: looked up as a piece below.
            Some(_) if marks => {}
            _ if !marks && word.len() >= MAX_WORD => continue,
            _ => {}
        }
        let q: Box<dyn Query> = if bounded {
            Box::new(TermQuery::new(
                Term::from_field_text(field, &word),
                IndexRecordOption::Basic,
            ))
        } else {
            let w = regex::escape(&word);
            let pattern = match (open_left, open_right) {
                (true, true) => format!(".*{w}.*"),
                (true, false) => format!(".*{w}"),
                _ => format!("{w}.*"),
            };
            let Ok(q) = RegexQuery::from_pattern(&pattern, field) else {
                continue;
            };
            if marks {
                let mut either: Clauses = vec![(Occur::Should, Box::new(q))];
                either.extend(marks_around(&word).into_iter().map(|m| (Occur::Should, mark(m))));
                Box::new(BooleanQuery::new(either))
            } else {
                Box::new(q)
            }
        };
        parts.push((Occur::Must, q));
    }
    if parts.is_empty() {
        return None;
    }
    Some(Box::new(BooleanQuery::new(parts)))
}

/// The index's share of a positive `|=` filter (a superset of what it
/// keeps), or `None` when the index cannot narrow it.
fn line_filter_clause(f: &LogFields, lf: &LineFilter, marks: bool) -> Option<Box<dyn Query>> {
    if lf.op != LineFilterOp::Contains {
        return None;
    }
    let mut any: Clauses = Vec::new();
    for v in &lf.values {
        any.push((Occur::Should, needle_query(f.message, v, marks)?));
    }
    Some(Box::new(BooleanQuery::new(any)))
}

/// The index's share of a label filter before any parser: `| request_id="…"`
/// and `| user="…"` (the UI's "everything of this request") look the
/// value up as the matcher would — in the record's field or a stream
/// label of that name, a superset the pipeline then checks — instead of
/// reading every line of the selector.
fn label_filter_clause(
    searcher: &Searcher,
    f: &LogFields,
    m: &Matcher,
    reads: &Arc<ReadBudget>,
) -> Option<Box<dyn Query>> {
    if m.op != MatchOp::Equal || m.value.is_empty() {
        return None;
    }
    let field = match target(f, &m.name) {
        Target::Text(field) if field == f.request_id || field == f.user => field,
        _ => return None,
    };
    Some(Box::new(BooleanQuery::new(vec![
        (
            Occur::Should,
            exact_is(searcher.schema(), f, field, &m.value, reads),
        ),
        (
            Occur::Should,
            Box::new(TermQuery::new(
                label_term(f, &m.name, &m.value),
                IndexRecordOption::Basic,
            )),
        ),
    ])))
}

/// The query for `[start_ns, end_ns)` of one day: matchers, the leading
/// line filters' words (up to the first stage that changes the line), the
/// time range. `None` when nothing in the day can match. The stored
/// lines the query reads to check values the index holds only
/// approximately are taken from `reads`: the caller checks it once the
/// search has run ([`super::budget::Budget::check_index_reads`]).
pub fn day_query(
    searcher: &Searcher,
    f: &LogFields,
    matchers: &[Matcher],
    pipeline: &[Stage],
    (start_ns, end_ns): (i64, i64),
    reads: &Arc<ReadBudget>,
) -> Result<Option<Box<dyn Query>>, LogqlError> {
    let mut clauses: Clauses = vec![(
        Occur::Must,
        Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_i64(f.timestamp, start_ns)),
            Bound::Excluded(Term::from_field_i64(f.timestamp, end_ns)),
        )),
    )];
    for m in matchers {
        match matcher_clause(searcher, f, m, reads)? {
            None => return Ok(None),
            Some(c) => clauses.extend(c),
        }
    }
    let marks = f.marks_unindexed_words(searcher.schema());
    // Until a parser runs, a line's labels are its stream labels and
    // metadata, which the index holds.
    let mut parsed = false;
    for stage in pipeline {
        match stage {
            Stage::LineFilter(lf) => {
                if let Some(q) = line_filter_clause(f, lf, marks) {
                    clauses.push((Occur::Must, q));
                }
            }
            Stage::LabelFilter(LabelFilter::Text(m)) if !parsed => {
                if let Some(q) = label_filter_clause(searcher, f, m, reads) {
                    clauses.push((Occur::Must, q));
                }
            }
            // Label filters and parsers do not change the line.
            Stage::LabelFilter(_) => {}
            Stage::Json(_) | Stage::Logfmt { .. } | Stage::Pattern(_) | Stage::Regexp(_) => parsed = true,
            _ => break,
        }
    }
    if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::index::ID_MARK;

    #[test]
    fn needle_words_are_exact_only_where_the_needle_bounds_them() {
        let f = LogFields::new();
        let q = format!(
            "{:?}",
            needle_query(f.message, "connection refused by db", false).unwrap()
        );
        // "connection" may be the tail of a longer word, "db" its head.
        assert!(q.contains("Regex"), "{q}");
        assert!(!q.contains(LONG_MARK), "{q}");
        assert!(needle_query(f.message, "  ", false).is_none());
        assert!(needle_query(f.message, "!!", false).is_none());
    }

    #[test]
    fn needle_words_the_index_does_not_hold_are_looked_up_as_the_mark() {
        let f = LogFields::new();
        let long = "z".repeat(45);
        // Before format 3 a long word has no lookup at all.
        assert!(needle_query(f.message, &long, false).is_none());
        let q = format!("{:?}", needle_query(f.message, &long, true).unwrap());
        assert!(q.contains(LONG_MARK) && !q.contains("Regex"), "{q}");
        let q = format!(
            "{:?}",
            needle_query(f.message, "task 5e6f7a8b done", true).unwrap()
        );
        assert!(q.contains(ID_MARK), "{q}");
        // A cut word may lie inside a word the index does not hold: any
        // long word, and an id only when the piece is hex.
        let q = format!("{:?}", needle_query(f.message, "xport", true).unwrap());
        assert!(
            q.contains(LONG_MARK) && !q.contains(ID_MARK) && q.contains("Regex"),
            "{q}"
        );
        let q = format!("{:?}", needle_query(f.message, "7a8b", true).unwrap());
        assert!(q.contains(ID_MARK), "{q}");
        // A cut id may lie inside a word that is not hex (`x5e6f7a8b`),
        // which the index holds.
        let q = format!("{:?}", needle_query(f.message, "5e6f7a8b", true).unwrap());
        assert!(q.contains(ID_MARK) && q.contains("Regex"), "{q}");
        // A bounded word the index holds needs no mark.
        let q = format!("{:?}", needle_query(f.message, "a rubric b", true).unwrap());
        assert!(q.contains("\"rubric\""), "{q}");
    }
}
