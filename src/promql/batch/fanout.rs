//! Series passes over threads: a pass is pure (a series' samples in, its
//! points out), so the series of a block are split between up to four
//! threads; their results are then handed on in series order, so results
//! and float summation orders do not depend on the split.

use std::sync::Arc;

use crate::model::Labels;
use crate::promql::context::{EvalContext, SelectedIters};
use crate::promql::error::PromqlError;
use crate::promql::precomputed::Steps;
use crate::tsdb::SampleIter;

/// What one series' pass over its samples produced.
pub(super) struct SeriesPass {
    pub points: Vec<(i64, f64)>,
    /// Samples read from storage.
    pub read: usize,
    /// Whether any step's window held a sample (range functions).
    pub any_window: bool,
    /// The most samples its window held at once.
    pub peak_window: usize,
}

/// Threads that run series passes: a pass is pure (a series' samples in,
/// its points out), so the series of a block are split between threads;
/// their results are then handed on in series order, so results and float
/// summation orders do not depend on the split.
fn pass_threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(4))
}

/// Series per thread in a block: bounds the points held between the
/// passes and the sink.
const SERIES_PER_THREAD: usize = 256;

/// Series × steps below which a query's series passes stay on one thread.
const PARALLEL_WORK: usize = 4096;

/// Takes each series' pass result, in series order.
pub(super) type Emit<'e> =
    dyn FnMut(&mut EvalContext, &Arc<Labels>, SeriesPass) -> Result<(), PromqlError> + 'e;

/// Runs `pass` over every selected series, a block at a time (in parallel
/// where there are enough), then `emit`s each result in series order.
pub(super) fn each_series<P>(
    ctx: &mut EvalContext,
    series: SelectedIters,
    steps: &Steps,
    pass: P,
    emit: &mut Emit,
) -> Result<(), PromqlError>
where
    P: Fn(Box<dyn SampleIter>, &mut Vec<(i64, f64)>) -> SeriesPass + Sync,
{
    // Threads pay off from a few thousand series-steps (an instant query
    // reads about 16 steps' worth of samples per series).
    let work = series.len().saturating_mul(steps.count.max(16));
    let threads = if work >= PARALLEL_WORK { pass_threads() } else { 1 };
    let mut rest = series.into_iter();
    loop {
        ctx.check_limits()?;
        let block: Vec<_> = rest.by_ref().take(SERIES_PER_THREAD * threads).collect();
        if block.is_empty() {
            return Ok(());
        }
        let results = run_block(block, threads, &pass)?;
        // Held at once: the block's points, and a window per thread.
        let points: usize = results.iter().map(|r| r.1.points.len()).sum();
        let windows = results.iter().map(|r| r.1.peak_window).max().unwrap_or(0) * threads.min(results.len());
        ctx.hold(points + windows)?;
        ctx.release(windows);
        for (metric, r) in results {
            // The sink counts what it keeps of these points.
            ctx.release(r.points.len());
            ctx.samples.streamed += r.read;
            emit(ctx, &metric, r)?;
        }
    }
}

type Block = SelectedIters;

fn run_block<P>(block: Block, threads: usize, pass: &P) -> Result<Vec<(Arc<Labels>, SeriesPass)>, PromqlError>
where
    P: Fn(Box<dyn SampleIter>, &mut Vec<(i64, f64)>) -> SeriesPass + Sync,
{
    let run = |part: Block| -> Vec<(Arc<Labels>, SeriesPass)> {
        let mut buf = Vec::new();
        part.into_iter()
            .map(|(m, iter)| (m, pass(iter, &mut buf)))
            .collect()
    };
    if threads < 2 || block.len() < 16 {
        return Ok(run(block));
    }
    let per = block.len().div_ceil(threads);
    let mut parts: Vec<Block> = Vec::with_capacity(threads);
    let mut block = block;
    while block.len() > per {
        let tail = block.split_off(per);
        parts.push(block);
        block = tail;
    }
    parts.push(block);
    let mut parts = parts.into_iter();
    let first = parts.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts.map(|part| scope.spawn(move || run(part))).collect();
        let mut out = run(first);
        for h in handles {
            match h.join() {
                Ok(more) => out.extend(more),
                Err(_) => {
                    return Err(PromqlError::Execution(
                        "internal error: a series evaluation thread panicked".into(),
                    ));
                }
            }
        }
        Ok(out)
    })
}
