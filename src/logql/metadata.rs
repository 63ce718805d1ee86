//! What Loki's metadata endpoints answer: label names and values, the
//! series (stream label sets) of selectors, and index statistics and
//! volumes. Series come from the same fast scan as `count_over_time`, so
//! they cost what counting costs; names and values without a selector
//! come straight from the term dictionaries of the days in range.

use std::collections::{BTreeMap, BTreeSet};

use crate::logs::index::{DayIndexes, day_of};
use crate::model::{Label, Labels};

use super::ast::{LogSelector, RangeAggregation, RangeFn};
use super::budget::Budget;
use super::error::LogqlError;
use super::index_query::{Target, has_values, label_names as stream_label_names, target, values_of};
use super::parse::{Cursor, stream_selector};
use super::range_eval::eval_range;
use super::windows::StepGrid;

/// A bare stream selector (`{a="b"}`), as `match[]` and `query` take.
pub fn parse_selector(src: &str) -> Result<LogSelector, LogqlError> {
    let mut c = Cursor::new(src, 0);
    let matchers = stream_selector(&mut c)?;
    if !c.at_end() {
        return Err(c.error("expected only a stream selector such as {service=\"api\"}"));
    }
    Ok(LogSelector {
        matchers,
        pipeline: Vec::new(),
    })
}

/// Label names with a value in `[start_ns, end_ns]` (whole days).
pub fn label_names(days: &DayIndexes, start_ns: i64, end_ns: i64) -> Result<Vec<String>, LogqlError> {
    let mut names = BTreeSet::new();
    let f = &days.fields;
    for day in days.newest_first(day_of(start_ns), day_of(end_ns)) {
        let searcher = day.reader.searcher();
        if searcher.num_docs() == 0 {
            continue;
        }
        names.insert("level".to_string());
        for name in ["service", "request_id", "user", "path", "status"] {
            if has_values(&searcher, f, &target(f, name))? {
                names.insert(name.to_string());
            }
        }
        names.extend(stream_label_names(&searcher, f)?);
    }
    Ok(names.into_iter().collect())
}

/// Values of one label in `[start_ns, end_ns]` (whole days).
pub fn label_values(
    days: &DayIndexes,
    name: &str,
    start_ns: i64,
    end_ns: i64,
) -> Result<Vec<String>, LogqlError> {
    let f = &days.fields;
    let t = target(f, name);
    let mut values = BTreeSet::new();
    for day in days.newest_first(day_of(start_ns), day_of(end_ns)) {
        let searcher = day.reader.searcher();
        if t == Target::Level {
            // Only the levels some line has.
            let present = values_of(&searcher, f, &t)?;
            for (v, term) in present {
                if searcher.doc_freq(&term)? > 0 {
                    values.insert(v);
                }
            }
            continue;
        }
        values.extend(values_of(&searcher, f, &t)?.into_iter().map(|(v, _)| v));
    }
    values.remove("");
    Ok(values.into_iter().collect())
}

/// Each stream of `sel` with lines in `(start_ns, end_ns]` and how many.
pub fn streams(
    days: &DayIndexes,
    sel: &LogSelector,
    start_ns: i64,
    end_ns: i64,
    budget: &Budget,
) -> Result<Vec<(Labels, f64)>, LogqlError> {
    let agg = RangeAggregation {
        func: RangeFn::CountOverTime,
        param: None,
        selector: sel.clone(),
        unwrap: None,
        range_ns: (end_ns - start_ns).max(1),
        offset_ns: 0,
        grouping: None,
    };
    let grid = StepGrid {
        start_ns: end_ns,
        step_ns: agg.range_ns,
        steps: 1,
        range_ns: agg.range_ns,
        offset_ns: 0,
    };
    Ok(eval_range(days, &agg, &grid, budget)?
        .into_iter()
        .filter_map(|s| s.points.first().map(|(_, v)| (s.labels, *v)))
        .collect())
}

/// `/index/stats`: streams, chunks, bytes and entries of a selector.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IndexStats {
    pub streams: u64,
    /// Belfry has no chunks; each stream's share of a day index counts as one.
    pub chunks: u64,
    /// Estimated: entries × the average stored bytes per line of the days read.
    pub bytes: u64,
    pub entries: u64,
}

/// The average bytes a stored line takes in the days of the range.
fn bytes_per_line(days: &DayIndexes, start_ns: i64, end_ns: i64) -> f64 {
    let (mut bytes, mut lines) = (0u64, 0u64);
    for day in days.newest_first(day_of(start_ns), day_of(end_ns)) {
        bytes += day.disk_bytes();
        lines += day.num_docs();
    }
    if lines == 0 {
        0.0
    } else {
        bytes as f64 / lines as f64
    }
}

pub fn index_stats(
    days: &DayIndexes,
    sel: &LogSelector,
    start_ns: i64,
    end_ns: i64,
    budget: &Budget,
) -> Result<IndexStats, LogqlError> {
    let streams = streams(days, sel, start_ns, end_ns, budget)?;
    let entries: f64 = streams.iter().map(|(_, n)| n).sum();
    let n_days = days.newest_first(day_of(start_ns), day_of(end_ns)).len() as u64;
    Ok(IndexStats {
        streams: streams.len() as u64,
        chunks: streams.len() as u64 * n_days.max(1),
        bytes: (entries * bytes_per_line(days, start_ns, end_ns)).round() as u64,
        entries: entries as u64,
    })
}

/// `/index/volume`: estimated bytes per label set, grouped by
/// `target_labels` (all stream labels when empty).
pub fn volume(
    days: &DayIndexes,
    sel: &LogSelector,
    start_ns: i64,
    end_ns: i64,
    target_labels: &[String],
    limit: usize,
    budget: &Budget,
) -> Result<Vec<(Labels, f64)>, LogqlError> {
    let per_line = bytes_per_line(days, start_ns, end_ns);
    let mut grouped: BTreeMap<Labels, f64> = BTreeMap::new();
    for (labels, n) in streams(days, sel, start_ns, end_ns, budget)? {
        let key = if target_labels.is_empty() {
            // Loki groups by the selector's labels by default.
            let names: Vec<&str> = sel.matchers.iter().map(|m| m.name.as_str()).collect();
            Labels::new(
                labels
                    .iter()
                    .filter(|l| names.contains(&l.name.as_str()))
                    .cloned()
                    .collect(),
            )
        } else {
            Labels::new(
                target_labels
                    .iter()
                    .filter_map(|n| labels.get(n).map(|v| Label::new(n.clone(), v)))
                    .collect(),
            )
        };
        *grouped.entry(key).or_default() += n * per_line;
    }
    let mut out: Vec<(Labels, f64)> = grouped.into_iter().map(|(l, v)| (l, v.round())).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(limit);
    Ok(out)
}
