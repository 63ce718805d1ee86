//! Evaluating one range aggregation over the day indexes into series
//! sampled at every step. Without a pipeline, `count_over_time`, `rate`
//! and `absent_over_time` read only fast columns and postings (time,
//! level, service, stream labels); everything else reads each matching
//! line and runs the pipeline over it.

use std::collections::HashMap;

use tantivy::query::EnableScoring;
use tantivy::{DocAddress, DocId, Searcher, SegmentReader};

use crate::logs::Level;
use crate::logs::index::{DayIndexes, LogFields, day_of};
use crate::model::{Label, Labels, MatchOp, STALE_NAN, is_stale_nan};

use super::ast::{Grouping, RangeAggregation, RangeFn, UnwrapConversion};
use super::budget::Budget;
use super::error::LogqlError;
use super::index_query::day_query;
use super::line_entry::{ERROR_DETAILS_LABEL, ERROR_LABEL, METADATA_LABELS, Origin, PipelineLine};
use super::literals::{parse_bytes, parse_duration_ns};
use super::pipeline;
use super::segment_streams::SegmentStreams;
use super::windows::{SeriesAcc, StepGrid};

/// One series of a range aggregation: a value or a stale marker per step
/// (times in milliseconds).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

struct Accumulators<'a> {
    grid: &'a StepGrid,
    func: RangeFn,
    series: HashMap<Labels, SeriesAcc>,
    budget: &'a Budget,
}

impl Accumulators<'_> {
    fn push(&mut self, labels: Labels, ts: i64, v: f64) -> Result<(), LogqlError> {
        if let Some(acc) = self.series.get_mut(&labels) {
            acc.push(self.grid, ts, v);
            return Ok(());
        }
        self.budget.check_series(self.series.len() + 1)?;
        let mut acc = SeriesAcc::new(self.grid, self.func);
        acc.push(self.grid, ts, v);
        self.series.insert(labels, acc);
        Ok(())
    }

    fn merge(&mut self, labels: Labels, acc: SeriesAcc) -> Result<(), LogqlError> {
        if let Some(a) = self.series.get_mut(&labels) {
            a.merge(acc);
            return Ok(());
        }
        self.budget.check_series(self.series.len() + 1)?;
        self.series.insert(labels, acc);
        Ok(())
    }
}

/// Whether the aggregation can be answered from fast columns alone.
fn reads_fast_fields_only(agg: &RangeAggregation) -> bool {
    let grouping_on_metadata = match &agg.grouping {
        Some(Grouping::By(names)) => names.iter().any(|n| METADATA_LABELS.contains(&n.as_str())),
        _ => false,
    };
    agg.selector.pipeline.is_empty()
        && agg.unwrap.is_none()
        && matches!(
            agg.func,
            RangeFn::CountOverTime | RangeFn::Rate | RangeFn::AbsentOverTime
        )
        && !grouping_on_metadata
}

fn group(labels: Labels, grouping: &Option<Grouping>, lookup: impl Fn(&str) -> Option<String>) -> Labels {
    match grouping {
        None => labels,
        Some(Grouping::By(names)) => Labels::new(
            names
                .iter()
                .filter_map(|n| {
                    lookup(n)
                        .filter(|v| !v.is_empty())
                        .map(|v| Label::new(n.clone(), v))
                })
                .collect(),
        ),
        Some(Grouping::Without(names)) => Labels::new(
            labels
                .into_vec()
                .into_iter()
                .filter(|l| !names.contains(&l.name))
                .collect(),
        ),
    }
}

pub fn eval_range(
    days: &DayIndexes,
    agg: &RangeAggregation,
    grid: &StepGrid,
    budget: &Budget,
) -> Result<Vec<RangeSeries>, LogqlError> {
    let (lo, hi) = grid.span_ns();
    let absent = agg.func == RangeFn::AbsentOverTime;
    // Absence looks at every line at all, counted as one series.
    let func = if absent { RangeFn::CountOverTime } else { agg.func };
    let mut accs = Accumulators {
        grid,
        func,
        series: HashMap::new(),
        budget,
    };
    let (start_ns, end_ns) = (lo.saturating_add(1), hi.saturating_add(1));
    let fast = reads_fast_fields_only(agg);
    for day in days.newest_first(day_of(start_ns), day_of(end_ns - 1)) {
        budget.check_time()?;
        let searcher = day.reader.searcher();
        let f = &days.fields;
        let Some(query) = day_query(
            &searcher,
            f,
            &agg.selector.matchers,
            &agg.selector.pipeline,
            (start_ns, end_ns),
            budget.reads(),
        )?
        else {
            continue;
        };
        let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher))?;
        for (ord, seg) in searcher.segment_readers().iter().enumerate() {
            let mut docs: Vec<DocId> = Vec::new();
            let alive = seg.alive_bitset();
            weight.for_each_no_score(seg, &mut |batch| {
                docs.extend(batch.iter().filter(|d| alive.is_none_or(|a| a.is_alive(**d))));
            })?;
            budget.check_index_reads()?;
            if docs.is_empty() {
                continue;
            }
            if fast {
                budget.count_lines(docs.len() as u64)?;
                fast_segment(f, seg, &docs, agg, absent, &mut accs)?;
            } else {
                slow_segment(f, &searcher, ord as u32, &docs, agg, absent, &mut accs)?;
            }
        }
    }
    let series: Vec<(Labels, SeriesAcc)> = accs.series.into_iter().collect();
    if absent {
        let mut any = series.into_iter().map(|(_, a)| a);
        let counts = match any.next() {
            Some(a) => a.finish(grid, RangeFn::CountOverTime, None),
            None => (0..grid.steps)
                .map(|i| (grid.step_time_ns(i) / 1_000_000, STALE_NAN))
                .collect(),
        };
        let points = counts
            .into_iter()
            .map(|(t, v)| (t, if is_stale_nan(v) { 1.0 } else { STALE_NAN }))
            .collect();
        let labels = Labels::new(
            agg.selector
                .matchers
                .iter()
                .filter(|m| m.op == MatchOp::Equal)
                .map(|m| Label::new(m.name.clone(), m.value.clone()))
                .collect(),
        );
        return Ok(vec![RangeSeries { labels, points }]);
    }
    let mut out: Vec<RangeSeries> = series
        .into_iter()
        .map(|(labels, acc)| RangeSeries {
            labels,
            points: acc.finish(grid, agg.func, agg.param),
        })
        .filter(|s| s.points.iter().any(|(_, v)| !is_stale_nan(*v)))
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

fn fast_segment(
    f: &LogFields,
    seg: &SegmentReader,
    docs: &[DocId],
    agg: &RangeAggregation,
    absent: bool,
    accs: &mut Accumulators,
) -> Result<(), LogqlError> {
    let fast = seg.fast_fields();
    let ts_col = fast.i64("timestamp")?;
    if absent {
        let mut acc = SeriesAcc::new(accs.grid, RangeFn::CountOverTime);
        for d in docs {
            if let Some(ts) = ts_col.first(*d) {
                acc.push(accs.grid, ts, 1.0);
            }
        }
        return accs.merge(Labels::default(), acc);
    }
    let level_col = fast.u64("level")?;
    let service_col = fast.str("service")?;
    let streams = SegmentStreams::build(f, seg)?;
    let mut local: HashMap<(u64, u64, u32), usize> = HashMap::new();
    let mut keys: Vec<(u64, u64, u32)> = Vec::new();
    let mut locals: Vec<SeriesAcc> = Vec::new();
    for d in docs {
        let Some(ts) = ts_col.first(*d) else { continue };
        let level = level_col.first(*d).unwrap_or(Level::Info as u64);
        let service = service_col
            .as_ref()
            .and_then(|c| c.ords().first(*d))
            .unwrap_or(u64::MAX);
        let key = (service, level, streams.id(*d));
        let i = *local.entry(key).or_insert_with(|| {
            keys.push(key);
            locals.push(SeriesAcc::new(accs.grid, accs.func));
            locals.len() - 1
        });
        locals[i].push(accs.grid, ts, 1.0);
    }
    let mut name = String::new();
    for ((service_ord, level, stream), acc) in keys.into_iter().zip(locals) {
        name.clear();
        if let Some(c) = &service_col
            && service_ord != u64::MAX
        {
            c.ord_to_str(service_ord, &mut name)
                .map_err(|e| LogqlError::Logs(crate::logs::LogsError::Index(e.into())))?;
        }
        let level = Level::from_index(level).unwrap_or(Level::Info).as_str();
        let mut labels: Vec<Label> = streams.sets[stream as usize]
            .iter()
            .filter(|(n, _)| n != "service" && n != "level")
            .map(|(n, v)| Label::new(n.clone(), v.clone()))
            .collect();
        if !name.is_empty() {
            labels.push(Label::new("service", name.clone()));
        }
        labels.push(Label::new("level", level));
        let all = Labels::new(labels);
        let grouped = group(all.clone(), &agg.grouping, |n| all.get(n).map(str::to_string));
        accs.merge(grouped, acc)?;
    }
    Ok(())
}

fn unwrap_value(line: &mut PipelineLine, label: &str, conv: UnwrapConversion) -> Option<f64> {
    let raw = line.labels.get(label)?.trim().to_string();
    // A line without the value has no sample, and that is no error (Loki
    // issue 6713).
    if raw.is_empty() {
        return None;
    }
    let v = match conv {
        UnwrapConversion::Plain => raw.parse().ok(),
        UnwrapConversion::Duration => parse_duration_ns(&raw)
            .map(|ns| ns / 1e9)
            .or_else(|| raw.parse().ok()),
        UnwrapConversion::Bytes => parse_bytes(&raw),
    };
    if v.is_none() {
        line.labels
            .set(ERROR_LABEL, "SampleExtractionErr", Origin::Extracted);
        line.labels.set(
            ERROR_DETAILS_LABEL,
            format!("cannot read {raw:?} of label {label:?} as a number"),
            Origin::Extracted,
        );
    }
    v
}

fn slow_segment(
    f: &LogFields,
    searcher: &Searcher,
    ord: u32,
    docs: &[DocId],
    agg: &RangeAggregation,
    absent: bool,
    accs: &mut Accumulators,
) -> Result<(), LogqlError> {
    for d in docs {
        let log_line = f.line(searcher, DocAddress::new(ord, *d))?;
        accs.budget.read_line(log_line.message.len())?;
        let mut line = PipelineLine::from_log_line(log_line);
        if !pipeline::run(&agg.selector.pipeline, &mut line) {
            continue;
        }
        let ts = line.timestamp_ns;
        if absent {
            accs.push(Labels::default(), ts, 1.0)?;
            continue;
        }
        let value = match (&agg.unwrap, agg.func) {
            (Some(u), _) => {
                let v = unwrap_value(&mut line, &u.label, u.conversion);
                if !u
                    .post_filters
                    .iter()
                    .all(|pf| pipeline::label_filter_matches(pf, &mut line))
                {
                    continue;
                }
                line.labels.remove(&u.label);
                v
            }
            (None, RangeFn::BytesOverTime | RangeFn::BytesRate) => Some(line.line.len() as f64),
            (None, _) => Some(1.0),
        };
        if line.labels.has_error() {
            return Err(pipeline::pipeline_error(&line));
        }
        let Some(value) = value else { continue };
        line.labels.remove(ERROR_LABEL);
        line.labels.remove(ERROR_DETAILS_LABEL);
        let labels = group(line.labels.to_labels(), &agg.grouping, |n| {
            line.labels.get(n).map(str::to_string)
        });
        accs.push(labels, ts, value)?;
    }
    Ok(())
}
