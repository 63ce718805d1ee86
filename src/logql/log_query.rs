//! Log queries: the newest (or oldest) lines that pass the pipeline,
//! grouped into streams by label set. The index orders candidates by
//! time, a page at a time (pages growing), so a selective query reads
//! only about as many lines as it returns.

use std::collections::BTreeMap;

use std::ops::Bound;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery};
use tantivy::{DocAddress, Order, Term};

use crate::logs::index::{DayIndexes, day_of};
use crate::model::Labels;

use super::ast::LogSelector;
use super::budget::Budget;
use super::error::LogqlError;
use super::index_query::day_query;
use super::line_entry::PipelineLine;
use super::pipeline;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Backward,
    Forward,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    pub labels: Labels,
    /// `(timestamp ns, line)` in the query's direction.
    pub entries: Vec<(i64, String)>,
}

const FIRST_PAGE: usize = 256;

/// One line a log query keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundLine {
    pub labels: Labels,
    pub timestamp_ns: i64,
    /// The record's sequence number (the store's arrival order).
    pub seq: u64,
    pub line: String,
}

/// Lines of `[start_ns, end_ns)` through `sel`, at most `limit`, in `dir`.
pub fn eval_log_query(
    days: &DayIndexes,
    sel: &LogSelector,
    start_ns: i64,
    end_ns: i64,
    limit: usize,
    dir: Direction,
    budget: &Budget,
) -> Result<Vec<Stream>, LogqlError> {
    let found = find_lines(days, sel, start_ns, end_ns, limit, dir, None, budget)?;
    Ok(group_streams(found))
}

/// Lines grouped into streams, each in the order given.
pub fn group_streams(found: Vec<FoundLine>) -> Vec<Stream> {
    let mut streams: BTreeMap<Labels, Vec<(i64, String)>> = BTreeMap::new();
    for f in found {
        streams
            .entry(f.labels)
            .or_default()
            .push((f.timestamp_ns, f.line));
    }
    streams
        .into_iter()
        .map(|(labels, entries)| Stream { labels, entries })
        .collect()
}

/// The lines of a log query, sorted in `dir`; with `min_seq`, only
/// records stored at or after that sequence number (for tailing).
#[allow(clippy::too_many_arguments)]
pub fn find_lines(
    days: &DayIndexes,
    sel: &LogSelector,
    start_ns: i64,
    end_ns: i64,
    limit: usize,
    dir: Direction,
    min_seq: Option<u64>,
    budget: &Budget,
) -> Result<Vec<FoundLine>, LogqlError> {
    let mut found: Vec<FoundLine> = Vec::new();
    if end_ns <= start_ns || limit == 0 {
        return Ok(found);
    }
    let mut day_list = days.newest_first(day_of(start_ns), day_of(end_ns - 1));
    if dir == Direction::Forward {
        day_list.reverse();
    }
    let order = match dir {
        Direction::Backward => Order::Desc,
        Direction::Forward => Order::Asc,
    };
    let f = &days.fields;
    'days: for day in day_list {
        budget.check_time()?;
        let searcher = day.reader.searcher();
        let Some(mut query) = day_query(
            &searcher,
            f,
            &sel.matchers,
            &sel.pipeline,
            (start_ns, end_ns),
            budget.reads(),
        )?
        else {
            continue;
        };
        if let Some(min) = min_seq {
            let since: Box<dyn Query> = Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_u64(f.seq, min)),
                Bound::Unbounded,
            ));
            query = Box::new(BooleanQuery::new(vec![
                (Occur::Must, query),
                (Occur::Must, since),
            ]));
        }
        let mut offset = 0;
        let mut page = FIRST_PAGE.max(limit);
        loop {
            let top: Vec<(Option<i64>, DocAddress)> = searcher.search(
                &query,
                &TopDocs::with_limit(page)
                    .and_offset(offset)
                    .order_by_fast_field::<i64>("timestamp", order),
            )?;
            budget.check_index_reads()?;
            let n = top.len();
            for (_, addr) in top {
                let l = f.line(&searcher, addr)?;
                budget.read_line(l.message.len())?;
                let id = l.id;
                let mut line = PipelineLine::from_log_line(l);
                if !pipeline::run(&sel.pipeline, &mut line) {
                    continue;
                }
                found.push(FoundLine {
                    labels: line.labels.to_labels(),
                    timestamp_ns: line.timestamp_ns,
                    seq: id,
                    line: line.line,
                });
                if found.len() >= limit {
                    break 'days;
                }
            }
            if n < page {
                break;
            }
            offset += n;
            page = page.saturating_mul(2).min(1 << 16);
        }
    }
    // Ties at one timestamp keep the store's order.
    match dir {
        Direction::Backward => found.sort_by_key(|a| std::cmp::Reverse((a.timestamp_ns, a.seq))),
        Direction::Forward => found.sort_by_key(|a| (a.timestamp_ns, a.seq)),
    }
    Ok(found)
}
