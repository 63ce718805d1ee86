//! An owning, `'static + Send` sample iterator over encoded chunk bytes of
//! either kind, for query results that outlive the head's locks.

use std::sync::Arc;

use super::xor::{XorDecoder, check_header};
use super::{ChunkError, ChunkKind, chunk_kind, decode_pco};

pub struct OwnedChunkIter {
    inner: Inner,
}

enum Inner {
    /// Decodes lazily from the shared bytes, validated at construction.
    Xor(XorDecoder<Arc<[u8]>>),
    /// pco decodes whole columns at once.
    Pco {
        ts: std::vec::IntoIter<i64>,
        vs: std::vec::IntoIter<f64>,
    },
}

impl OwnedChunkIter {
    /// Validates the whole chunk up front, so iteration never meets corrupt
    /// data half way through a query.
    pub fn new(bytes: Arc<[u8]>) -> Result<Self, ChunkError> {
        let inner = match chunk_kind(&bytes)? {
            ChunkKind::Xor => {
                let count = check_header(&bytes)?;
                let mut check = XorDecoder::new(&bytes[..], count);
                while check.next_sample()?.is_some() {}
                Inner::Xor(XorDecoder::new(bytes, count))
            }
            ChunkKind::Pco => {
                let (ts, vs) = decode_pco(&bytes)?;
                Inner::Pco {
                    ts: ts.into_iter(),
                    vs: vs.into_iter(),
                }
            }
        };
        Ok(OwnedChunkIter { inner })
    }
}

impl Iterator for OwnedChunkIter {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        match &mut self.inner {
            // Validated in `new`, so an error cannot occur here.
            Inner::Xor(dec) => dec.next_sample().ok().flatten(),
            Inner::Pco { ts, vs } => Some((ts.next()?, vs.next()?)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match &self.inner {
            Inner::Xor(dec) => dec.remaining(),
            Inner::Pco { ts, .. } => ts.len(),
        };
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
