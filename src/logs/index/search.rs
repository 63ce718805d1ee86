//! Searching the day indexes: a plain full-text query over message, error
//! and the other fields, a time range, exact field filters; lines newest
//! first with paging, and a per-level count histogram over the range.
//! Also the lines around one line of a service (context).

use std::ops::Bound;
use std::sync::Arc;

use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Collector, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::query::{AllQuery, BooleanQuery, Occur, PhraseQuery, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema};
use tantivy::tokenizer::TokenizerManager;
use tantivy::{DocAddress, DocId, Order, Score, SegmentReader, Term};

use super::day::{DayIndex, day_of};
use super::days::DayIndexes;
use super::fields::{LogFields, LogLine};
use super::hashed::exact_is;
use super::read_budget::ReadBudget;
use super::verified_query::VerifiedQuery;
use super::words::word_mark;
use crate::logs::{Level, LogsError};

/// Most lines one page may hold.
pub const MAX_LIMIT: usize = 1000;
/// Paging deeper than this is refused: each page re-reads what it skips.
pub const MAX_OFFSET: usize = 10_000;
pub const MAX_BUCKETS: usize = 1000;

/// An exact filter on one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Any of these levels.
    Level(Vec<Level>),
    Service(String),
    RequestId(String),
    User(String),
    Path(String),
    Status(u16),
    /// A stream label or another field (its value matched as words).
    Field(String, String),
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Words (all must appear), `"a phrase"`, `-word`; empty for all.
    pub text: String,
    pub start_ns: i64,
    /// Exclusive.
    pub end_ns: i64,
    pub filters: Vec<Filter>,
    pub limit: usize,
    pub offset: usize,
    pub buckets: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct HistogramBucket {
    #[serde(serialize_with = "super::fields::as_string")]
    pub start_ns: i64,
    /// Per level, debug to critical.
    pub counts: [u64; 5],
}

#[derive(Debug, serde::Serialize)]
pub struct SearchResult {
    pub lines: Vec<LogLine>,
    /// Every matching line in the range.
    pub total: u64,
    #[serde(serialize_with = "super::fields::as_string")]
    pub step_ns: i64,
    pub histogram: Vec<HistogramBucket>,
    /// What the query parser could not read and ignored.
    pub warnings: Vec<String>,
}

impl SearchQuery {
    pub fn validate(&self) -> Result<(), LogsError> {
        if self.end_ns <= self.start_ns {
            return Err(LogsError::BadQuery("end must be after start".into()));
        }
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(LogsError::BadQuery(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        if self.offset > MAX_OFFSET {
            return Err(LogsError::BadQuery(format!(
                "offset {} is past the paging limit of {MAX_OFFSET}; narrow the time range instead",
                self.offset
            )));
        }
        if self.buckets == 0 || self.buckets > MAX_BUCKETS {
            return Err(LogsError::BadQuery(format!(
                "buckets must be between 1 and {MAX_BUCKETS}"
            )));
        }
        Ok(())
    }
}

fn term_text(field: tantivy::schema::Field, v: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, v),
        IndexRecordOption::Basic,
    ))
}

/// Words as the `default` tokenizer makes them (lower-cased, split on
/// what is not a letter or digit).
fn words(text: &str) -> Vec<String> {
    let mut tm = TokenizerManager::default()
        .get("default")
        .expect("tantivy registers `default`");
    let mut stream = tm.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        out.push(t.text.clone());
    }
    out
}

fn filter_query(schema: &Schema, f: &LogFields, filter: &Filter, budget: &Arc<ReadBudget>) -> Box<dyn Query> {
    match filter {
        Filter::Level(levels) => Box::new(BooleanQuery::new(
            levels
                .iter()
                .map(|l| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_u64(f.level, *l as u64),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect(),
        )),
        Filter::Service(s) => term_text(f.service, s),
        Filter::RequestId(s) => exact_is(schema, f, f.request_id, s, budget),
        Filter::User(s) => exact_is(schema, f, f.user, s, budget),
        Filter::Path(s) => term_text(f.path, s),
        Filter::Status(s) => Box::new(TermQuery::new(
            Term::from_field_u64(f.status, u64::from(*s)),
            IndexRecordOption::Basic,
        )),
        Filter::Field(name, value) => {
            let mut label = Term::from_field_json_path(f.labels, name, false);
            label.append_type_and_str(value);
            let mut either: Vec<(Occur, Box<dyn Query>)> = vec![(
                Occur::Should,
                Box::new(TermQuery::new(label, IndexRecordOption::Basic)),
            )];
            let terms: Vec<Term> = words(value)
                .iter()
                .map(|w| {
                    let mut t = Term::from_field_json_path(f.fields, name, false);
                    t.append_type_and_str(w);
                    t
                })
                .collect();
            match terms.len() {
                0 => {}
                1 => either.push((
                    Occur::Should,
                    Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::Basic)),
                )),
                _ if f.has_positions(schema) => {
                    either.push((Occur::Should, Box::new(PhraseQuery::new(terms))))
                }
                // Format 3 keeps no positions: every word, then the
                // stored value checked for the words in a row.
                _ => {
                    let all: Clauses = terms
                        .into_iter()
                        .map(|t| {
                            let q: Box<dyn Query> = Box::new(TermQuery::new(t, IndexRecordOption::Basic));
                            (Occur::Must, q)
                        })
                        .collect();
                    let (fields, path, phrase) = (f.clone(), name.clone(), words(value));
                    either.push((
                        Occur::Should,
                        Box::new(VerifiedQuery::new(
                            Box::new(BooleanQuery::new(all)),
                            format!("{name} holds {phrase:?}"),
                            Arc::new(move |d| {
                                contains_run(&words(&stored_field_text(&fields, d, &path)), &phrase)
                            }),
                            budget,
                        )),
                    ));
                }
            }
            // Numbers in JSON are indexed as numbers.
            if let Ok(n) = value.parse::<i64>() {
                let mut t = Term::from_field_json_path(f.fields, name, false);
                t.append_type_and_fast_value(n);
                either.push((
                    Occur::Should,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                ));
            } else if let Ok(x) = value.parse::<f64>() {
                let mut t = Term::from_field_json_path(f.fields, name, false);
                t.append_type_and_fast_value(x);
                either.push((
                    Occur::Should,
                    Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                ));
            }
            Box::new(BooleanQuery::new(either))
        }
    }
}

/// The clauses of a boolean query.
type Clauses = Vec<(Occur, Box<dyn Query>)>;

/// Whether `run` occurs in `words` as consecutive words.
fn contains_run(words: &[String], run: &[String]) -> bool {
    !run.is_empty() && words.windows(run.len()).any(|w| w == run)
}

/// The text of the other field at the dotted `path` of a stored line.
fn stored_field_text(f: &LogFields, d: &tantivy::TantivyDocument, path: &str) -> String {
    use tantivy::schema::Value as _;
    let Some(extra) = d.get_first(f.extra).and_then(|v| v.as_str()) else {
        return String::new();
    };
    let Ok(serde_json::Value::Object(extra)) = serde_json::from_str::<serde_json::Value>(extra) else {
        return String::new();
    };
    let mut at = extra.get("fields");
    for key in path.split('.') {
        at = at.and_then(|v| v.get(key));
    }
    match at {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// How a search text is answered in a day of format 3, which keeps no
/// positions and marks the words it does not hold: a phrase (quoted, or
/// a chunk the tokenizer splits, such as `grades.export`) and a word the
/// index does not hold are looked up word by word in `message` and
/// `error` and checked on the stored text; the rest of the text goes to
/// tantivy's parser as before.
#[derive(Default)]
struct TextPlan {
    /// Runs of words a line must hold in its message or error.
    wanted: Vec<Vec<String>>,
    /// Runs of words a line must not hold (`-word`, `-"a phrase"`).
    excluded: Vec<Vec<String>>,
    parser_text: String,
}

fn plan_text(text: &str) -> TextPlan {
    let mut chunks: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
        }
        if c.is_whitespace() && !quoted {
            chunks.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    chunks.push(current);
    let mut plan = TextPlan::default();
    let mut kept = Vec::new();
    for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
        let (negated, body) = match chunk.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, chunk.as_str()),
        };
        let run = super::words::words(body);
        // `name:value` is the parser's own syntax.
        let special = !body.contains(':')
            && (body.starts_with('"') || run.len() > 1 || run.iter().any(|w| word_mark(w).is_some()));
        if !special || run.is_empty() {
            kept.push(chunk);
        } else if negated {
            plan.excluded.push(run);
        } else {
            plan.wanted.push(run);
        }
    }
    plan.parser_text = kept.join(" ");
    plan
}

/// Each word of the runs a line must hold, in `message` or `error` (its
/// mark for a word the index does not hold).
fn run_words_query(f: &LogFields, runs: &[Vec<String>]) -> Clauses {
    let mut out = Clauses::new();
    for word in runs.iter().flatten() {
        let term = word_mark(word).unwrap_or(word);
        let either: Clauses = [f.message, f.error]
            .into_iter()
            .map(|field| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::Basic,
                ));
                (Occur::Should, q)
            })
            .collect();
        out.push((Occur::Must, Box::new(BooleanQuery::new(either))));
    }
    out
}

/// Whether a stored line's message or error holds every wanted run and
/// none of the excluded ones.
fn holds_runs(
    f: &LogFields,
    d: &tantivy::TantivyDocument,
    wanted: &[Vec<String>],
    excluded: &[Vec<String>],
) -> bool {
    use tantivy::schema::Value as _;
    let texts: Vec<Vec<String>> = [f.message, f.error]
        .into_iter()
        .filter_map(|field| d.get_first(field).and_then(|v| v.as_str()))
        .map(super::words::words)
        .collect();
    let holds = |run: &Vec<String>| texts.iter().any(|t| contains_run(t, run));
    wanted.iter().all(holds) && !excluded.iter().any(holds)
}

/// The query of one day without its time range, and the parser's
/// complaints.
fn base_query(
    schema: &Schema,
    f: &LogFields,
    text: &str,
    filters: &[Filter],
    budget: &Arc<ReadBudget>,
) -> (Clauses, Vec<String>) {
    let mut parts: Clauses = Vec::new();
    let mut warnings = Vec::new();
    let plan = if f.marks_unindexed_words(schema) {
        plan_text(text)
    } else {
        TextPlan {
            parser_text: text.to_string(),
            ..TextPlan::default()
        }
    };
    if !plan.parser_text.trim().is_empty() {
        let tokenizers = TokenizerManager::default();
        super::words::register(&tokenizers);
        // The day's own schema: formats tokenize differently.
        let mut parser = QueryParser::new(schema.clone(), vec![f.message, f.error, f.fields], tokenizers);
        parser.set_conjunction_by_default();
        let (q, errors) = parser.parse_query_lenient(&plan.parser_text);
        warnings.extend(errors.iter().map(|e| format!("query text: {e}")));
        parts.push((Occur::Must, q));
    }
    parts.extend(run_words_query(f, &plan.wanted));
    for filter in filters {
        parts.push((Occur::Must, filter_query(schema, f, filter, budget)));
    }
    if plan.wanted.is_empty() && plan.excluded.is_empty() {
        return (parts, warnings);
    }
    // The index found a superset (words without their order, the mark
    // for every word it does not hold): each candidate's text is checked.
    if parts.is_empty() {
        parts.push((Occur::Must, Box::new(AllQuery)));
    }
    let fields = f.clone();
    let TextPlan { wanted, excluded, .. } = plan;
    let what = format!("words {wanted:?}, not {excluded:?}");
    let verified = VerifiedQuery::new(
        Box::new(BooleanQuery::new(parts)),
        what,
        Arc::new(move |d| holds_runs(&fields, d, &wanted, &excluded)),
        budget,
    );
    (vec![(Occur::Must, Box::new(verified))], warnings)
}

fn time_range(f: &LogFields, start_ns: i64, end_ns: i64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_i64(f.timestamp, start_ns)),
        Bound::Excluded(Term::from_field_i64(f.timestamp, end_ns)),
    ))
}

fn with_range(parts: &[(Occur, Box<dyn Query>)], f: &LogFields, start_ns: i64, end_ns: i64) -> BooleanQuery {
    let mut all: Vec<(Occur, Box<dyn Query>)> = parts.iter().map(|(o, q)| (*o, q.box_clone())).collect();
    all.push((Occur::Must, time_range(f, start_ns, end_ns)));
    if all.len() == 1 {
        all.push((Occur::Must, Box::new(AllQuery)));
    }
    BooleanQuery::new(all)
}

/// Lines and counts for `q`. The checks of candidates against their
/// stored text are taken from `budget`; when it runs out the search stops
/// with [`LogsError::QueryLimit`] rather than answer a partial count.
pub fn search(
    days: &DayIndexes,
    q: &SearchQuery,
    budget: &Arc<ReadBudget>,
) -> Result<SearchResult, LogsError> {
    q.validate()?;
    let f = &days.fields;
    // The parser's complaints depend only on the text.
    let (_, warnings) = base_query(&f.schema, f, &q.text, &[], budget);
    let span = i128::from(q.end_ns) - i128::from(q.start_ns);
    let step = i64::try_from((span + q.buckets as i128 - 1) / q.buckets as i128).unwrap_or(i64::MAX);
    let counter = LevelHistogram {
        start_ns: q.start_ns,
        step_ns: step.max(1),
        buckets: q.buckets,
    };
    let mut counts = vec![[0u64; 5]; q.buckets];
    let mut lines = Vec::new();
    let mut skip = q.offset;
    let mut total = 0u64;
    for day in days.newest_first(day_of(q.start_ns), day_of(q.end_ns - 1)) {
        let searcher = day.reader.searcher();
        // Built per day: a filter's query depends on the day's format.
        if !budget.check_time() {
            break;
        }
        let (parts, _) = base_query(searcher.schema(), f, &q.text, &q.filters, budget);
        let query = with_range(&parts, f, q.start_ns, q.end_ns);
        let wanted = skip + q.limit - lines.len();
        let (top, hist) = if lines.len() < q.limit {
            // Ties on time are broken by sequence number: lines of one
            // batch often share a timestamp, and a page boundary among
            // them must fall in the same place on every request, or
            // paging repeats some lines and skips others.
            let top = TopDocs::with_limit(wanted).order_by((
                (SortByStaticFastValue::<i64>::for_field("timestamp"), Order::Desc),
                (SortByStaticFastValue::<u64>::for_field("seq"), Order::Desc),
            ));
            let (top, hist) = searcher.search(&query, &(top, counter.clone()))?;
            (top, hist)
        } else {
            (Vec::new(), searcher.search(&query, &counter)?)
        };
        let day_total: u64 = hist.iter().flatten().sum();
        total += day_total;
        for (acc, h) in counts.iter_mut().zip(&hist) {
            for (a, b) in acc.iter_mut().zip(h) {
                *a += b;
            }
        }
        let mut page = Vec::new();
        if budget.stopped().is_some() {
            break;
        }
        for (_, addr) in top {
            page.push(f.line(&searcher, addr)?);
        }
        page.sort_by_key(|l| std::cmp::Reverse((l.timestamp_ns, l.id)));
        let n_skip = skip.min(page.len());
        skip -= n_skip;
        // A day with fewer matches than were wanted was read whole, so
        // what it could not skip carries over to the older days.
        lines.extend(page.into_iter().skip(n_skip).take(q.limit - lines.len()));
    }
    if let Some(stop) = budget.stopped() {
        return Err(LogsError::query_limit(stop, budget));
    }
    let histogram = counts
        .into_iter()
        .enumerate()
        .map(|(i, counts)| HistogramBucket {
            start_ns: q
                .start_ns
                .saturating_add((i as i64).saturating_mul(counter.step_ns)),
            counts,
        })
        .collect();
    Ok(SearchResult {
        lines,
        total,
        step_ns: counter.step_ns,
        histogram,
        warnings,
    })
}

/// Counts matching documents per time bucket and level, reading only the
/// two fast fields.
#[derive(Clone)]
struct LevelHistogram {
    start_ns: i64,
    step_ns: i64,
    buckets: usize,
}

struct SegmentHistogram {
    ts: Column<i64>,
    level: Column<u64>,
    spec: LevelHistogram,
    counts: Vec<[u64; 5]>,
}

impl Collector for LevelHistogram {
    type Fruit = Vec<[u64; 5]>;
    type Child = SegmentHistogram;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentHistogram> {
        Ok(SegmentHistogram {
            ts: segment.fast_fields().i64("timestamp")?,
            level: segment.fast_fields().u64("level")?,
            spec: self.clone(),
            counts: vec![[0; 5]; self.buckets],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<[u64; 5]>>) -> tantivy::Result<Vec<[u64; 5]>> {
        let mut out = vec![[0; 5]; self.buckets];
        for fruit in fruits {
            for (acc, h) in out.iter_mut().zip(&fruit) {
                for (a, b) in acc.iter_mut().zip(h) {
                    *a += b;
                }
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for SegmentHistogram {
    type Fruit = Vec<[u64; 5]>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let (Some(ts), Some(level)) = (self.ts.first(doc), self.level.first(doc)) else {
            return;
        };
        let offset = i128::from(ts) - i128::from(self.spec.start_ns);
        let i = (offset / i128::from(self.spec.step_ns)).clamp(0, self.spec.buckets as i128 - 1) as usize;
        if let Some(slot) = self.counts[i].get_mut(level as usize) {
            *slot += 1;
        }
    }

    fn harvest(self) -> Vec<[u64; 5]> {
        self.counts
    }
}

/// The line `id` of `service` (its own service when `None`) with up to
/// `before` older and `after` newer lines of that service, oldest first.
pub fn context(
    days: &DayIndexes,
    id: u64,
    service: Option<&str>,
    before: usize,
    after: usize,
) -> Result<Option<(LogLine, Vec<LogLine>)>, LogsError> {
    if before > MAX_LIMIT || after > MAX_LIMIT {
        return Err(LogsError::BadQuery(format!(
            "before and after must be at most {MAX_LIMIT}"
        )));
    }
    let f = &days.fields;
    // `seq` is a fast column, not a term (format 2): the range of one id
    // is answered from the column.
    let by_id = RangeQuery::new(
        Bound::Included(Term::from_field_u64(f.seq, id)),
        Bound::Included(Term::from_field_u64(f.seq, id)),
    );
    let mut found = None;
    for day in days.all().into_iter().rev() {
        let searcher = day.reader.searcher();
        if let Some((_, addr)) = searcher
            .search(&by_id, &TopDocs::with_limit(1).order_by_score())?
            .first()
        {
            found = Some(f.line(&searcher, *addr)?);
            break;
        }
    }
    let Some(line) = found else { return Ok(None) };
    let service = service.unwrap_or(&line.service).to_string();
    let key = (line.timestamp_ns, line.id);
    let same_service = [(Occur::Must, term_text(f.service, &service))];

    // Lines sharing the timestamp are ordered by id; fetch a few extra
    // so those ties do not crowd out the neighbours.
    let mut older = Vec::new();
    let all_days = days.all();
    for day in all_days
        .iter()
        .rev()
        .filter(|d| d.day <= day_of(line.timestamp_ns))
    {
        if older.len() >= before {
            break;
        }
        older.extend(
            neighbours(
                day,
                f,
                &same_service,
                i64::MIN,
                line.timestamp_ns + 1,
                Order::Desc,
                before + 64,
            )?
            .into_iter()
            .filter(|l| (l.timestamp_ns, l.id) < key),
        );
    }
    older.sort_by_key(|l| std::cmp::Reverse((l.timestamp_ns, l.id)));
    older.truncate(before);
    older.reverse();

    let mut newer = Vec::new();
    for day in all_days.iter().filter(|d| d.day >= day_of(line.timestamp_ns)) {
        if newer.len() >= after {
            break;
        }
        newer.extend(
            neighbours(
                day,
                f,
                &same_service,
                line.timestamp_ns,
                i64::MAX,
                Order::Asc,
                after + 64,
            )?
            .into_iter()
            .filter(|l| (l.timestamp_ns, l.id) > key),
        );
    }
    newer.sort_by_key(|l| (l.timestamp_ns, l.id));
    newer.truncate(after);

    let mut lines = older;
    lines.push(line.clone());
    lines.extend(newer);
    Ok(Some((line, lines)))
}

fn neighbours(
    day: &DayIndex,
    f: &LogFields,
    parts: &[(Occur, Box<dyn Query>)],
    start_ns: i64,
    end_ns: i64,
    order: Order,
    limit: usize,
) -> Result<Vec<LogLine>, LogsError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let searcher = day.reader.searcher();
    let query = with_range(parts, f, start_ns, end_ns);
    let top: Vec<(Option<i64>, DocAddress)> = searcher.search(
        &query,
        &TopDocs::with_limit(limit).order_by_fast_field::<i64>("timestamp", order),
    )?;
    top.into_iter()
        .map(|(_, addr)| Ok(f.line(&searcher, addr)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_text_is_split_into_what_the_parser_reads_and_what_is_checked() {
        let plan = plan_text(r#"timeout "connection pool" -grades.export 5e6f7a8b -1234abcd field:x.y"#);
        assert_eq!(plan.parser_text, "timeout field:x.y");
        assert_eq!(
            plan.wanted,
            [
                vec!["connection".to_string(), "pool".to_string()],
                vec!["5e6f7a8b".to_string()]
            ]
        );
        assert_eq!(
            plan.excluded,
            [
                vec!["grades".to_string(), "export".to_string()],
                vec!["1234abcd".to_string()]
            ]
        );
        assert!(contains_run(
            &["a".into(), "b".into(), "c".into()],
            &["b".into(), "c".into()]
        ));
        assert!(!contains_run(
            &["a".into(), "b".into()],
            &["b".into(), "a".into()]
        ));
        assert!(!contains_run(&["a".into()], &[]));
    }

    proptest! {
        /// Every word of a search text is either left to the parser or
        /// checked on the line, never lost.
        #[test]
        fn no_word_of_a_search_text_is_lost(text in "[a-z0-9 .\"\\-:]{0,60}") {
            let plan = plan_text(&text);
            let mut planned = super::super::words::words(&plan.parser_text);
            planned.extend(plan.wanted.iter().flatten().cloned());
            planned.extend(plan.excluded.iter().flatten().cloned());
            planned.sort();
            let mut all = super::super::words::words(&text);
            all.sort();
            prop_assert_eq!(planned, all);
            prop_assert!(plan.wanted.iter().chain(&plan.excluded).all(|r| !r.is_empty()));
        }
    }
}
