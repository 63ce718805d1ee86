//! Retention: each level (and each service's exceptions) kept as long as
//! `logs.retention` says, and the whole store under `logs.retention_size`.
//! A day whose every record has expired is dropped whole; otherwise the
//! expired records are deleted by query and the day's segments merged so
//! the space is given back. Over the size cap the oldest days go first.

use std::time::Duration;

use tantivy::Term;
use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;

use super::index::{DayIndex, DayIndexes, LogFields, day_name, day_start_ns};
use super::metrics::LogsMetrics;
use super::{Level, LogsError};
use crate::config::LogRetentionConfig;

/// Retention per level and service, in nanoseconds.
#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    levels: [i64; 5],
    services: Vec<(String, [Option<i64>; 5])>,
}

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl RetentionPolicy {
    pub fn from_config(c: &LogRetentionConfig) -> Self {
        RetentionPolicy {
            levels: c.in_level_order().map(|d| ns(d.0)),
            services: c
                .services
                .iter()
                .map(|(s, o)| (s.clone(), o.in_level_order().map(|d| d.map(|d| ns(d.0)))))
                .collect(),
        }
    }

    /// How long a record of `level` from `service` is kept.
    pub fn retention_ns(&self, level: Level, service: &str) -> i64 {
        self.services
            .iter()
            .find(|(s, _)| s == service)
            .and_then(|(_, o)| o[level.index()])
            .unwrap_or(self.levels[level.index()])
    }

    /// The longest any record is kept.
    pub fn longest_ns(&self) -> i64 {
        let overrides = self
            .services
            .iter()
            .flat_map(|(_, o)| o.iter().flatten().copied());
        self.levels.iter().copied().chain(overrides).max().unwrap_or(0)
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RetentionReport {
    pub deleted_by_age: u64,
    pub deleted_by_size: u64,
    pub days_dropped: Vec<String>,
}

/// One retention pass at `now_ns`. `extra_bytes` is what else counts
/// against the size cap (the WAL). Callers hold the store's commit lock,
/// so no half-added batch is committed by the deletes.
pub fn enforce(
    days: &DayIndexes,
    policy: &RetentionPolicy,
    size_cap: u64,
    extra_bytes: u64,
    now_ns: i64,
    metrics: &LogsMetrics,
) -> Result<RetentionReport, LogsError> {
    let mut report = RetentionReport::default();
    let longest = policy.longest_ns();
    for day in days.all() {
        let day_end = day_start_ns(day.day + 1);
        if day_end <= now_ns.saturating_sub(longest) {
            let n = day.num_docs();
            days.drop_day(day.day)?;
            report.deleted_by_age += n;
            report.days_dropped.push(day_name(day.day));
            metrics.retention_days_dropped.with(&["age"]).inc();
            continue;
        }
        report.deleted_by_age += delete_expired(&day, &days.fields, policy, now_ns)?;
    }
    metrics
        .retention_deleted
        .with(&["age"])
        .add(report.deleted_by_age);

    if size_cap > 0 {
        loop {
            let all = days.all();
            let total: u64 = all.iter().map(|d| d.disk_bytes()).sum::<u64>() + extra_bytes;
            // The newest day stays: it is where records arrive.
            if total <= size_cap || all.len() <= 1 {
                break;
            }
            let oldest = &all[0];
            let n = oldest.num_docs();
            tracing::info!(day = %day_name(oldest.day), total_bytes = total, cap_bytes = size_cap, "logs over logs.retention_size; dropping the oldest day");
            days.drop_day(oldest.day)?;
            report.deleted_by_size += n;
            report.days_dropped.push(day_name(oldest.day));
            metrics.retention_days_dropped.with(&["size"]).inc();
        }
        metrics
            .retention_deleted
            .with(&["size"])
            .add(report.deleted_by_size);
    }
    Ok(report)
}

fn level_term(f: &LogFields, level: Level) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_u64(f.level, level as u64),
        IndexRecordOption::Basic,
    ))
}

fn service_term(f: &LogFields, service: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(f.service, service),
        IndexRecordOption::Basic,
    ))
}

fn older_than(f: &LogFields, cutoff_ns: i64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        std::ops::Bound::Unbounded,
        std::ops::Bound::Excluded(Term::from_field_i64(f.timestamp, cutoff_ns)),
    ))
}

/// The queries matching this day's expired records, one per level and
/// per service exception.
fn expired_queries(
    day_start: i64,
    f: &LogFields,
    policy: &RetentionPolicy,
    now_ns: i64,
) -> Vec<BooleanQuery> {
    let mut out = Vec::new();
    for level in Level::ALL {
        let cutoff = now_ns.saturating_sub(policy.levels[level.index()]);
        let mut except = Vec::new();
        for (service, o) in &policy.services {
            let Some(r) = o[level.index()] else { continue };
            except.push(service);
            let cutoff = now_ns.saturating_sub(r);
            if day_start < cutoff {
                out.push(BooleanQuery::new(vec![
                    (Occur::Must, level_term(f, level)),
                    (Occur::Must, service_term(f, service)),
                    (Occur::Must, older_than(f, cutoff)),
                ]));
            }
        }
        if day_start < cutoff {
            let mut parts = vec![
                (Occur::Must, level_term(f, level)),
                (Occur::Must, older_than(f, cutoff)),
            ];
            parts.extend(except.into_iter().map(|s| (Occur::MustNot, service_term(f, s))));
            out.push(BooleanQuery::new(parts));
        }
    }
    out
}

/// Deletes the day's expired records and merges its segments when it
/// deleted any; returns how many.
fn delete_expired(
    day: &DayIndex,
    f: &LogFields,
    policy: &RetentionPolicy,
    now_ns: i64,
) -> Result<u64, LogsError> {
    let searcher = day.reader.searcher();
    let mut deleted = 0;
    let mut doomed = Vec::new();
    for q in expired_queries(day_start_ns(day.day), f, policy, now_ns) {
        let n = searcher.search(&q, &Count)? as u64;
        if n > 0 {
            deleted += n;
            doomed.push(q);
        }
    }
    if doomed.is_empty() {
        return Ok(0);
    }
    day.with_writer(|w| {
        for q in doomed {
            w.delete_query(Box::new(q))?;
        }
        Ok(())
    })?;
    day.commit(day.committed_next_seq())?;
    day.merge_all()?;
    tracing::info!(day = %day_name(day.day), records = deleted, "deleted expired log records");
    Ok(deleted)
}

/// Refreshes the disk and record gauges.
pub fn update_gauges(days: &DayIndexes, metrics: &LogsMetrics) -> Result<(), LogsError> {
    let f = &days.fields;
    let mut by_level = [0f64; 5];
    let mut records = [0u64; 5];
    let mut names = Vec::new();
    for day in days.all() {
        let bytes = day.disk_bytes();
        let name = day_name(day.day);
        metrics.disk_bytes_by_day.with(&[&name]).set(bytes as f64);
        names.push(name);
        let searcher = day.reader.searcher();
        let total = searcher.num_docs().max(1) as f64;
        for level in Level::ALL {
            let n = searcher.search(&*level_term(f, level), &Count)? as u64;
            records[level.index()] += n;
            by_level[level.index()] += bytes as f64 * n as f64 / total;
        }
    }
    metrics.disk_bytes_by_day.retain(|v| names.contains(&v[0]));
    for level in Level::ALL {
        metrics
            .disk_bytes_by_level
            .with(&[level.as_str()])
            .set(by_level[level.index()]);
        metrics
            .records_by_level
            .with(&[level.as_str()])
            .set(records[level.index()] as f64);
    }
    Ok(())
}
