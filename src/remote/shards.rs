//! Splitting a round of samples over shards: every sample of a series goes
//! to the same shard (so a series stays in order), each shard cuts its
//! samples into batches of at most `max_samples_per_send` and sends them
//! one after the other while the shards run side by side. The split
//! depends only on the samples and the shard count, so a round read again
//! after a crash is cut into the same batches.

use super::watcher::QueuedSample;

/// The samples of one request.
#[derive(Debug, Default)]
pub struct Batch {
    pub samples: Vec<QueuedSample>,
}

/// How many shards a round of `samples` is sent with: enough that each
/// sends about one batch, within the configured bounds.
pub fn shards_for(samples: usize, max_per_send: usize, min_shards: usize, max_shards: usize) -> usize {
    samples
        .div_ceil(max_per_send.max(1))
        .clamp(min_shards.max(1), max_shards.max(1))
}

/// The batches of each shard, in sending order.
pub fn shard_batches(samples: Vec<QueuedSample>, shards: usize, max_per_send: usize) -> Vec<Vec<Batch>> {
    let shards = shards.max(1);
    let max_per_send = max_per_send.max(1);
    let mut out: Vec<Vec<Batch>> = (0..shards).map(|_| Vec::new()).collect();
    for s in samples {
        let shard = &mut out[shard_of(s.series_ref, shards)];
        match shard.last_mut() {
            Some(b) if b.samples.len() < max_per_send => b.samples.push(s),
            _ => shard.push(Batch { samples: vec![s] }),
        }
    }
    out
}

fn shard_of(series_ref: u64, shards: usize) -> usize {
    // Refs are sequential; a multiplicative hash spreads neighbours.
    ((series_ref.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % shards as u64) as usize
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn sample(r: u64, t: i64) -> QueuedSample {
        QueuedSample {
            series_ref: r,
            labels: Arc::from(Vec::new()),
            t,
            v: 0.0,
        }
    }

    #[test]
    fn a_series_keeps_its_shard_and_order() {
        let samples: Vec<_> = (0..1000).map(|i| sample(i % 37, i as i64)).collect();
        let shards = shard_batches(samples, 4, 50);
        let mut seen = std::collections::HashMap::new();
        let mut total = 0;
        for (i, batches) in shards.iter().enumerate() {
            for b in batches {
                assert!(b.samples.len() <= 50);
                for s in &b.samples {
                    total += 1;
                    let (shard, last_t) = seen.entry(s.series_ref).or_insert((i, -1));
                    assert_eq!(*shard, i, "series {} in two shards", s.series_ref);
                    assert!(s.t > *last_t, "series {} out of order", s.series_ref);
                    *last_t = s.t;
                }
            }
        }
        assert_eq!(total, 1000);
        assert_eq!(shards_for(10_000, 2_000, 1, 50), 5);
        assert_eq!(shards_for(10, 2_000, 2, 50), 2);
        assert_eq!(shards_for(1_000_000, 2_000, 1, 50), 50);
    }
}
