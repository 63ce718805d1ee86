//! Long chunks for compacted data: timestamps and values each compressed
//! with `pco`, which models numeric columns far better than Gorilla does.
//!
//! Layout: `[tag 0x02][uvarint sample count][uvarint timestamp section
//! length][timestamp section: pco standalone i64][value section: pco
//! standalone f64]`.

use super::{ChunkError, TAG_PCO};

/// Decoding allocates the claimed count up front, so a corrupt count must
/// not ask for gigabytes: 1 Mi samples (16 MiB decoded) is far above the
/// compactor's chunk length.
pub const PCO_MAX_SAMPLES: usize = 1 << 20;

/// Chosen by measurement on scrape-like data (see `docs/storage-format.md`).
fn timestamp_config() -> pco::ChunkConfig {
    pco::ChunkConfig::default().with_compression_level(PCO_LEVEL)
}

fn value_config() -> pco::ChunkConfig {
    pco::ChunkConfig::default().with_compression_level(PCO_LEVEL)
}

const PCO_LEVEL: usize = 8;

pub fn encode_pco(ts: &[i64], vs: &[f64]) -> Result<Vec<u8>, ChunkError> {
    if ts.len() != vs.len() {
        return Err(ChunkError::LengthMismatch {
            timestamps: ts.len(),
            values: vs.len(),
        });
    }
    if ts.len() > PCO_MAX_SAMPLES {
        return Err(ChunkError::TooManySamples {
            count: ts.len(),
            limit: PCO_MAX_SAMPLES,
        });
    }
    let t_bytes = pco::standalone::simple_compress(ts, &timestamp_config())?;
    let v_bytes = pco::standalone::simple_compress(vs, &value_config())?;
    let mut out = Vec::with_capacity(1 + 10 + 10 + t_bytes.len() + v_bytes.len());
    out.push(TAG_PCO);
    put_uvarint(&mut out, ts.len() as u64);
    put_uvarint(&mut out, t_bytes.len() as u64);
    out.extend_from_slice(&t_bytes);
    out.extend_from_slice(&v_bytes);
    Ok(out)
}

pub fn decode_pco(bytes: &[u8]) -> Result<(Vec<i64>, Vec<f64>), ChunkError> {
    let kind = super::chunk_kind(bytes)?;
    if kind != super::ChunkKind::Pco {
        return Err(ChunkError::WrongKind {
            expected: "pco",
            found: kind.name(),
        });
    }
    let mut rest = &bytes[1..];
    let count = get_uvarint(&mut rest, "pco sample count")?;
    if count > PCO_MAX_SAMPLES as u64 {
        return Err(ChunkError::TooManySamples {
            count: count as usize,
            limit: PCO_MAX_SAMPLES,
        });
    }
    let count = count as usize;
    let t_len = get_uvarint(&mut rest, "pco timestamp section length")?;
    if t_len > rest.len() as u64 {
        return Err(ChunkError::Truncated("pco timestamp section"));
    }
    let (t_bytes, v_bytes) = rest.split_at(t_len as usize);
    let ts = decode_column::<i64>(t_bytes, count, "timestamps")?;
    let vs = decode_column::<f64>(v_bytes, count, "values")?;
    Ok((ts, vs))
}

fn decode_column<T: pco::data_types::Number + Default>(
    src: &[u8],
    count: usize,
    what: &str,
) -> Result<Vec<T>, ChunkError> {
    let mut out = vec![T::default(); count];
    let progress = pco::standalone::simple_decompress_into(src, &mut out)?;
    if progress.n_processed != count || !progress.finished {
        return Err(ChunkError::Corrupt(format!(
            "pco {what} section holds {}{} numbers, header says {count}",
            progress.n_processed,
            if progress.finished { "" } else { "+" },
        )));
    }
    Ok(out)
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_uvarint(src: &mut &[u8], what: &'static str) -> Result<u64, ChunkError> {
    let mut v = 0u64;
    for i in 0..10 {
        let (&byte, rest) = src.split_first().ok_or(ChunkError::Truncated(what))?;
        *src = rest;
        if i == 9 && byte > 1 {
            return Err(ChunkError::Corrupt(format!("{what}: varint overflows 64 bits")));
        }
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(ChunkError::Corrupt(format!(
        "{what}: varint longer than 10 bytes"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{STALE_NAN, STALE_NAN_BITS};
    use proptest::prelude::*;

    fn bits(vs: &[f64]) -> Vec<u64> {
        vs.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn empty_and_single_round_trip() {
        for n in [0usize, 1, 2] {
            let ts: Vec<i64> = (0..n as i64).collect();
            let vs: Vec<f64> = ts.iter().map(|&t| t as f64).collect();
            let b = encode_pco(&ts, &vs).unwrap();
            let (t2, v2) = decode_pco(&b).unwrap();
            assert_eq!(t2, ts);
            assert_eq!(bits(&v2), bits(&vs));
        }
    }

    #[test]
    fn stale_markers_and_nan_payloads_survive() {
        let ts: Vec<i64> = (0..1000).map(|i| 1_700_000_000_000 + i * 15_000).collect();
        let mut vs: Vec<f64> = (0..1000).map(|i| 100.0 + (i as f64) * 0.25).collect();
        vs[10] = STALE_NAN;
        vs[11] = f64::NAN;
        vs[500] = f64::from_bits(0xfff0_0000_0000_1234);
        vs[999] = STALE_NAN;
        vs[700] = -0.0;
        let b = encode_pco(&ts, &vs).unwrap();
        let (t2, v2) = decode_pco(&b).unwrap();
        assert_eq!(t2, ts);
        assert_eq!(bits(&v2), bits(&vs));
        assert_eq!(v2[10].to_bits(), STALE_NAN_BITS);
    }

    #[test]
    fn rejects_mismatch_and_bad_headers() {
        assert!(matches!(
            encode_pco(&[1, 2], &[1.0]),
            Err(ChunkError::LengthMismatch { .. })
        ));
        assert!(matches!(decode_pco(&[TAG_PCO]), Err(ChunkError::Truncated(_))));
        assert!(matches!(
            decode_pco(&[TAG_PCO, 0xff, 0xff, 0xff, 0x7f, 0]),
            Err(ChunkError::TooManySamples { .. })
        ));
        let b = encode_pco(&[1, 2, 3], &[1.0, 2.0, 3.0]).unwrap();
        for cut in 0..b.len() {
            assert!(decode_pco(&b[..cut]).is_err(), "cut at {cut} decoded");
        }
    }

    proptest! {
        #[test]
        fn round_trips_any_values(
            samples in proptest::collection::vec((any::<i64>(), any::<u64>()), 0..900),
            stale_every in 1usize..50,
        ) {
            let ts: Vec<i64> = samples.iter().map(|s| s.0).collect();
            let mut vs: Vec<f64> = samples.iter().map(|s| f64::from_bits(s.1)).collect();
            for v in vs.iter_mut().step_by(stale_every) {
                *v = STALE_NAN;
            }
            let b = encode_pco(&ts, &vs).unwrap();
            let (t2, v2) = decode_pco(&b).unwrap();
            prop_assert_eq!(t2, ts);
            prop_assert_eq!(bits(&v2), bits(&vs));
        }

        #[test]
        fn round_trips_gauge_like_values(
            start in any::<i32>(),
            steps in proptest::collection::vec(-1000i32..1000, 0..900),
        ) {
            // Decimal-looking floats push pco into its float modes.
            let mut x = start as f64 / 100.0;
            let mut vs = vec![];
            for (i, s) in steps.iter().enumerate() {
                x += *s as f64 / 100.0;
                vs.push(if i % 97 == 5 { STALE_NAN } else { x });
            }
            let ts: Vec<i64> = (0..vs.len() as i64).map(|i| i * 15_000).collect();
            let (_, v2) = decode_pco(&encode_pco(&ts, &vs).unwrap()).unwrap();
            prop_assert_eq!(bits(&v2), bits(&vs));
        }

        #[test]
        fn arbitrary_bytes_never_panic(mut b in proptest::collection::vec(any::<u8>(), 0..600)) {
            if !b.is_empty() {
                b[0] = TAG_PCO;
            }
            let _ = decode_pco(&b);
        }

        #[test]
        fn corrupted_chunks_never_panic(flip in any::<usize>(), n in 1usize..800) {
            let ts: Vec<i64> = (0..n as i64).map(|i| i * 15_000 + (i * 7919) % 101).collect();
            let vs: Vec<f64> = (0..n).map(|i| (i as f64 * 1.5).sin()).collect();
            let mut b = encode_pco(&ts, &vs).unwrap();
            let flip = flip % (b.len() * 8);
            b[flip / 8] ^= 1 << (flip % 8);
            let _ = decode_pco(&b);
        }
    }
}
