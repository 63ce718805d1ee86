//! The series range aggregations produced, served to the PromQL engine
//! through the storage `Querier` trait so that the operators around them
//! run on the one PromQL implementation.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::model::{Labels, Matcher};
use crate::tsdb::{Querier, SampleIter, SelectedSeries, StorageError};

/// One series' points, shared with the iterators handed out.
type Points = Arc<[(i64, f64)]>;

pub struct SyntheticSeries {
    series: Vec<(Labels, Points)>,
}

impl SyntheticSeries {
    pub fn new(mut series: Vec<(Labels, Vec<(i64, f64)>)>) -> Self {
        series.sort_by(|a, b| a.0.cmp(&b.0));
        SyntheticSeries {
            series: series.into_iter().map(|(l, p)| (l, Arc::from(p))).collect(),
        }
    }

    fn matching<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a (Labels, Points)> {
        self.series
            .iter()
            .filter(move |(l, _)| matchers.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
    }
}

struct PointsIter {
    points: Points,
    next: usize,
    end: usize,
}

impl SampleIter for PointsIter {
    fn next(&mut self) -> Option<(i64, f64)> {
        if self.next >= self.end {
            return None;
        }
        self.next += 1;
        Some(self.points[self.next - 1])
    }
}

impl Querier for SyntheticSeries {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, StorageError> {
        Ok(self
            .matching(matchers)
            .filter_map(|(labels, points)| {
                let start = points.partition_point(|(t, _)| *t < mint);
                let end = points.partition_point(|(t, _)| *t <= maxt);
                (start < end).then(|| SelectedSeries {
                    labels: labels.clone(),
                    samples: Box::new(PointsIter {
                        points: points.clone(),
                        next: start,
                        end,
                    }),
                })
            })
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher], _mint: i64, _maxt: i64) -> Result<Vec<String>, StorageError> {
        let names: BTreeSet<String> = self
            .matching(matchers)
            .flat_map(|(l, _)| l.iter().map(|x| x.name.clone()))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let values: BTreeSet<String> = self
            .matching(matchers)
            .filter_map(|(l, _)| l.get(name).map(str::to_string))
            .collect();
        Ok(values.into_iter().collect())
    }
}
