//! Following a log query as lines arrive: records are read in the order
//! the store numbered them (their sequence numbers), from a cursor, so a
//! line is sent once even when its timestamp is older than lines sent
//! before it.

use std::ops::Bound;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::{DocAddress, Order, Searcher, Term};

use crate::logs::index::{DayIndexes, day_of};

use super::ast::LogSelector;
use super::budget::Budget;
use super::error::LogqlError;
use super::index_query::day_query;
use super::line_entry::PipelineLine;
use super::log_query::FoundLine;
use super::pipeline;

/// Up to `limit` lines of `sel` with timestamps from `start_ns`, stored at
/// or after sequence number `min_seq`, in store order; and the cursor to
/// continue from.
pub fn tail_lines(
    days: &DayIndexes,
    sel: &LogSelector,
    start_ns: i64,
    min_seq: u64,
    limit: usize,
    budget: &Budget,
) -> Result<(Vec<FoundLine>, u64), LogqlError> {
    let f = &days.fields;
    let cap = limit.max(1) * 4;
    let mut candidates: Vec<(u64, usize, DocAddress)> = Vec::new();
    let mut searchers: Vec<Searcher> = Vec::new();
    // A day that had more candidates than were taken bounds how far this
    // call may go: its next ones may come before another day's.
    let mut bound = u64::MAX;
    for day in days.newest_first(day_of(start_ns), i64::MAX / 2) {
        let searcher = day.reader.searcher();
        let Some(query) = day_query(
            &searcher,
            f,
            &sel.matchers,
            &sel.pipeline,
            (start_ns, i64::MAX),
            budget.reads(),
        )?
        else {
            continue;
        };
        let since: Box<dyn Query> = Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_u64(f.seq, min_seq)),
            Bound::Unbounded,
        ));
        let query = BooleanQuery::new(vec![(Occur::Must, query), (Occur::Must, since)]);
        let top: Vec<(Option<u64>, DocAddress)> = searcher.search(
            &query,
            &TopDocs::with_limit(cap).order_by_fast_field::<u64>("seq", Order::Asc),
        )?;
        budget.check_index_reads()?;
        if top.len() == cap
            && let Some((Some(last), _)) = top.last()
        {
            bound = bound.min(*last);
        }
        let i = searchers.len();
        searchers.push(searcher);
        candidates.extend(top.into_iter().filter_map(|(s, a)| s.map(|s| (s, i, a))));
    }
    candidates.sort_by_key(|(s, ..)| *s);
    let mut found = Vec::new();
    let mut next = min_seq;
    for (seq, i, addr) in candidates {
        if seq > bound || found.len() >= limit {
            break;
        }
        next = seq + 1;
        let l = f.line(&searchers[i], addr)?;
        budget.read_line(l.message.len())?;
        let mut line = PipelineLine::from_log_line(l);
        if !pipeline::run(&sel.pipeline, &mut line) {
            continue;
        }
        found.push(FoundLine {
            labels: line.labels.to_labels(),
            timestamp_ns: line.timestamp_ns,
            seq,
            line: line.line,
        });
    }
    Ok((found, next))
}
