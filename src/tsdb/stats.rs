//! `stats(top_n)`: the cardinality figures of `/api/v1/status/tsdb`, from
//! the postings (series per metric name and per label pair, values per
//! label name) and the series' time ranges.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use super::TsdbStats;
use super::db::Inner;
use super::mem::top;

impl Inner {
    pub(crate) fn stats(&self, top_n: usize) -> TsdbStats {
        let idx = self.head.index.read();
        let (mut min_time, mut max_time) = (i64::MAX, i64::MIN);
        let mut head_chunks = 0u64;
        for s in idx.series() {
            let st = s.state.lock();
            head_chunks += st.num_head_chunks() as u64;
            for (lo, hi) in [st.persisted, st.head_range()].into_iter().flatten() {
                min_time = min_time.min(lo);
                max_time = max_time.max(hi);
            }
        }
        let mut by_metric = BTreeMap::new();
        for (v, b) in idx.labels.label_values(crate::model::METRIC_NAME) {
            by_metric.insert(v.to_string(), b.len());
        }
        let mut values_by_name = BTreeMap::new();
        let mut bytes_by_name = BTreeMap::new();
        let mut by_pair = BTreeMap::new();
        for name in idx.labels.all_label_names() {
            let values = idx.labels.label_values(&name);
            values_by_name.insert(name.clone(), values.len() as u64);
            bytes_by_name.insert(name.clone(), values.iter().map(|(v, _)| v.len() as u64).sum());
            for (v, b) in values {
                by_pair.insert(format!("{name}={v}"), b.len());
            }
        }
        TsdbStats {
            num_series: idx.len() as u64,
            num_label_pairs: idx.labels.num_label_pairs() as u64,
            chunk_count: self.persisted_chunks.load(Ordering::Relaxed) + head_chunks,
            min_time: if min_time == i64::MAX { 0 } else { min_time },
            max_time: if max_time == i64::MIN { 0 } else { max_time },
            series_count_by_metric_name: top(by_metric, top_n),
            label_value_count_by_label_name: top(values_by_name, top_n),
            memory_in_bytes_by_label_name: top(bytes_by_name, top_n),
            series_count_by_label_value_pair: top(by_pair, top_n),
        }
    }
}
