//! Decoding a chunk of either kind in one validating pass: into a caller's
//! reusable buffer (the querier) or into an owning, `'static + Send`
//! iterator (backfill, compaction).

use std::sync::Arc;

use super::xor::{check_header, decode_all};
use super::{ChunkError, ChunkKind, chunk_kind, decode_pco};

/// Appends every sample of encoded chunk bytes (either kind) to `out`,
/// validating the whole chunk in the same pass; on error `out` is left as
/// it was. Readers decode into a buffer they reuse from chunk to chunk, so
/// a chunk is decoded once and its samples are then read from a slice.
pub fn decode_chunk_into(bytes: &[u8], out: &mut Vec<(i64, f64)>) -> Result<(), ChunkError> {
    let before = out.len();
    let result = match chunk_kind(bytes)? {
        ChunkKind::Xor => {
            let count = check_header(bytes)?;
            decode_all(bytes, count, out)
        }
        ChunkKind::Pco => decode_pco(bytes).map(|(ts, vs)| out.extend(ts.into_iter().zip(vs))),
    };
    if result.is_err() {
        out.truncate(before);
    }
    result
}

/// An owning, `'static + Send` iterator over the samples of one chunk,
/// decoded (and so validated) whole at construction.
pub struct OwnedChunkIter {
    samples: Vec<(i64, f64)>,
    pos: usize,
}

impl OwnedChunkIter {
    /// Validates the whole chunk up front, so iteration never meets corrupt
    /// data half way through a query.
    pub fn new(bytes: Arc<[u8]>) -> Result<Self, ChunkError> {
        Self::decode(&bytes)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ChunkError> {
        let mut samples = Vec::new();
        decode_chunk_into(bytes, &mut samples)?;
        Ok(OwnedChunkIter { samples, pos: 0 })
    }
}

impl Iterator for OwnedChunkIter {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        let s = self.samples.get(self.pos).copied()?;
        self.pos += 1;
        Some(s)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.samples.len() - self.pos;
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::STALE_NAN_BITS;
    use crate::tsdb::chunk::{XorChunk, encode_pco};

    fn assert_send_static<T: Send + 'static>() {}

    #[test]
    fn iterates_both_kinds() {
        assert_send_static::<OwnedChunkIter>();
        let mut c = XorChunk::new();
        let ts: Vec<i64> = (0..130).map(|i| i * 15_000).collect();
        let vs: Vec<f64> = (0..130)
            .map(|i| {
                if i == 7 {
                    f64::from_bits(STALE_NAN_BITS)
                } else {
                    i as f64
                }
            })
            .collect();
        for (t, v) in ts.iter().zip(&vs) {
            c.append(*t, *v);
        }
        let want: Vec<(i64, u64)> = ts.iter().zip(&vs).map(|(t, v)| (*t, v.to_bits())).collect();
        let xor = OwnedChunkIter::new(Arc::from(c.bytes())).unwrap();
        assert_eq!(xor.size_hint(), (130, Some(130)));
        assert_eq!(xor.map(|(t, v)| (t, v.to_bits())).collect::<Vec<_>>(), want);
        let pco = OwnedChunkIter::new(Arc::from(encode_pco(&ts, &vs).unwrap())).unwrap();
        assert_eq!(pco.map(|(t, v)| (t, v.to_bits())).collect::<Vec<_>>(), want);
    }

    #[test]
    fn rejects_corrupt_bytes_at_construction() {
        let mut c = XorChunk::new();
        c.append(1, 1.0);
        c.append(2, 2.0);
        let b = c.bytes();
        assert!(OwnedChunkIter::new(Arc::from(&b[..b.len() - 1])).is_err());
        assert!(OwnedChunkIter::new(Arc::from(&[][..])).is_err());
        assert!(OwnedChunkIter::new(Arc::from(&[9u8][..])).is_err());
    }
}
