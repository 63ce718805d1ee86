//! The demo after its backfill: every step (15 s) the next samples, log
//! lines and error events, at the wall clock's time, until shutdown.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Demo, step_ms};

pub struct LiveLoop {
    demo: Demo,
}

impl LiveLoop {
    pub fn new(demo: Demo) -> LiveLoop {
        LiveLoop { demo }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let step = step_ms(&self.demo.opts);
        let mut ticker = tokio::time::interval(Duration::from_millis(step as u64));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut demo = Some(self.demo);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let Some(mut d) = demo.take() else { return };
            // Generating and writing block (fsync, redb): off the executor.
            let stepped = tokio::task::spawn_blocking(move || {
                let result = d.catch_up(crate::model::now_millis());
                (d, result)
            })
            .await;
            match stepped {
                Ok((d, result)) => {
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "the demo could not write a step; it tries again at the next");
                    }
                    demo = Some(d);
                }
                Err(e) => {
                    tracing::error!(error = %e, "the demo's step task failed; the demo stops");
                    return;
                }
            }
        }
    }
}

impl Demo {
    /// Writes every step after the last one up to `now_ms`.
    fn catch_up(&mut self, now_ms: i64) -> Result<(), super::DemoError> {
        let step = step_ms(&self.opts);
        let end = now_ms.div_euclid(step) * step;
        let mut t = if self.last_ms == i64::MIN {
            end
        } else {
            self.last_ms + step
        };
        while t <= end {
            let (lines, events) = self.advance(t);
            self.append_now(t)?;
            self.write_logs(lines)?;
            self.send_events(events)?;
            t += step;
        }
        Ok(())
    }
}
