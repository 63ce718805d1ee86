//! A day of history written at start, so the dashboards' graphs are full
//! on the first page view. Steps are generated in time order, exactly as
//! the live loop would have produced them; the samples go to the store's
//! backfill path (`Storage::backfill`) in blocks of a few hours rather
//! than through an appender, because the head refuses samples more than
//! an hour behind its newest (Belfry's own scrape starts at once) and
//! because backfilled runs are written compacted, so the history costs
//! no head memory. Log lines and error events of each block follow.

use std::time::Instant;

use crate::model::Labels;

use super::{Demo, DemoError, step_ms};

/// Steps per block: three hours at the 15 s step.
const BLOCK_STEPS: usize = 720;

/// What the backfill wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct BackfillReport {
    pub samples: usize,
    pub log_lines: usize,
    pub error_events: usize,
    pub seconds: f64,
}

impl Demo {
    /// Writes the history up to and including `until_ms` (rounded down
    /// to a step). Blocks: run it off the async executor.
    pub fn backfill(&mut self, until_ms: i64) -> Result<BackfillReport, DemoError> {
        let started = Instant::now();
        let step = step_ms(&self.opts);
        let end = until_ms.div_euclid(step) * step;
        let history = i64::try_from(self.opts.history.as_millis()).unwrap_or(0);
        let mut t = end - history.div_euclid(step) * step;
        let mut report = BackfillReport::default();
        while t <= end {
            let n = self.model.series().labels().len();
            let mut samples: Vec<Vec<(i64, f64)>> = vec![Vec::with_capacity(BLOCK_STEPS); n];
            let mut lines = Vec::new();
            let mut events = Vec::new();
            for _ in 0..BLOCK_STEPS {
                if t > end {
                    break;
                }
                let (l, e) = self.advance(t);
                lines.extend(l);
                events.extend(e);
                for (s, v) in samples.iter_mut().zip(self.model.series().values()) {
                    s.push((t, *v));
                }
                t += step;
            }
            let series: Vec<(Labels, Vec<(i64, f64)>)> = self
                .model
                .series()
                .labels()
                .iter()
                .cloned()
                .zip(samples)
                .collect();
            let written = self.sinks.storage.backfill(series)?;
            report.samples += written.samples_written;
            report.log_lines += lines.len();
            report.error_events += events.len();
            self.write_logs(lines)?;
            self.send_events(events)?;
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }
}
