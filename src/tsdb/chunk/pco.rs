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

/// pco's default level. Measured on scrape-like data, levels 4..12
/// differ by under 1.5% in size, so the default's speed wins.
const PCO_LEVEL: usize = 8;

/// Timestamps sit on a scrape-interval grid plus jitter. pco's `IntMult`
/// mode splits each into a multiple of the interval and a remainder,
/// which measured 7-10% smaller than its automatic choice (delta
/// encoding) at 720-2880 samples when the base is the exact interval, and
/// much larger when it is off by a few milliseconds. So the interval is
/// guessed as the median step rounded to whole seconds (how scrape
/// intervals are configured), and both encodings are tried; compaction
/// is not a hot path, the smaller one is kept.
fn compress_timestamps(ts: &[i64]) -> Result<Vec<u8>, ChunkError> {
    let base = pco::ChunkConfig::default()
        .with_compression_level(PCO_LEVEL)
        .with_delta_spec(pco::DeltaSpec::TryConsecutive(1));
    let plain = pco::standalone::simple_compress(ts, &base)?;
    let Some(step) = median_step(ts)
        .map(|s| (s + 500) / 1000 * 1000)
        .filter(|s| *s > 0)
    else {
        return Ok(plain);
    };
    let int_mult =
        pco::standalone::simple_compress(ts, &base.with_mode_spec(pco::ModeSpec::TryIntMult(step)))?;
    let mut best = if int_mult.len() < plain.len() {
        int_mult
    } else {
        plain
    };
    if let Some(grid) = grid_timestamps(ts)
        && grid.len() < best.len()
    {
        best = grid;
    }
    Ok(best)
}

/// The first byte of a timestamp section in the grid encoding. A pco
/// standalone file starts with its magic `pco!`, so the two never meet.
const GRID_SECTION: u8 = 0x00;
/// Wider remainders mean the samples are not on a grid (gaps, restarts):
/// pco's encodings are then the better ones.
const GRID_MAX_WIDTH: u32 = 32;

/// Scrape timestamps as a grid, `t0 + i·step`, plus each sample's
/// remainder off it, bit-packed at the width of their range. A scrape's
/// jitter of a few milliseconds then costs its entropy — 3 bits for 0–5 ms
/// — where pco, which sees the remainder through its deltas, measured
/// about 5 bits per sample over a 240-sample chunk with its headers.
/// `None` when the timestamps are not on a grid.
fn grid_timestamps(ts: &[i64]) -> Option<Vec<u8>> {
    let (&first, &last) = (ts.first()?, ts.last()?);
    if ts.len() < 2 {
        return None;
    }
    let gaps = ts.len() as i128 - 1;
    let span = last as i128 - first as i128;
    let step = i64::try_from((span + gaps / 2).div_euclid(gaps)).ok()?;
    if step <= 0 {
        return None;
    }
    let remainder = |i: usize, t: i64| t as i128 - first as i128 - i as i128 * step as i128;
    let (mut lo, mut hi) = (i128::MAX, i128::MIN);
    for (i, &t) in ts.iter().enumerate() {
        let r = remainder(i, t);
        lo = lo.min(r);
        hi = hi.max(r);
    }
    let range = u64::try_from(hi - lo).ok()?;
    let width = 64 - range.leading_zeros();
    if width > GRID_MAX_WIDTH {
        return None;
    }
    let lo = i64::try_from(lo).ok()?;
    let mut out = vec![GRID_SECTION];
    put_uvarint(&mut out, zigzag(first));
    put_uvarint(&mut out, step as u64);
    put_uvarint(&mut out, zigzag(lo));
    out.push(width as u8);
    let mut packer = BitPacker::new(&mut out);
    for (i, &t) in ts.iter().enumerate() {
        packer.put((remainder(i, t) - lo as i128) as u64, width);
    }
    packer.finish();
    Some(out)
}

/// Decodes a grid section of `count` timestamps.
fn decode_grid(mut src: &[u8], count: usize) -> Result<Vec<i64>, ChunkError> {
    src = &src[1..];
    let first = unzigzag(get_uvarint(&mut src, "grid first timestamp")?);
    let step = get_uvarint(&mut src, "grid step")? as i64;
    let lo = unzigzag(get_uvarint(&mut src, "grid remainder base")?);
    let (&width, packed) = src
        .split_first()
        .ok_or(ChunkError::Truncated("grid remainder width"))?;
    let width = u32::from(width);
    if width > GRID_MAX_WIDTH {
        return Err(ChunkError::Corrupt(format!("grid remainders {width} bits wide")));
    }
    let want = (count as u64 * u64::from(width)).div_ceil(8);
    if packed.len() as u64 != want {
        return Err(ChunkError::Corrupt(format!(
            "grid remainders take {} bytes, {count} of {width} bits need {want}",
            packed.len()
        )));
    }
    let mut bits = BitReader { src: packed, at: 0 };
    // Wrapping: the encoder's exact sums fit an i64, so arithmetic modulo
    // 2^64 gives them back; corrupt input gives wrong times, never a panic.
    Ok((0..count)
        .map(|i| {
            first
                .wrapping_add((i as i64).wrapping_mul(step))
                .wrapping_add(lo)
                .wrapping_add(bits.get(width) as i64)
        })
        .collect())
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    (u >> 1) as i64 ^ -((u & 1) as i64)
}

/// Packs numbers least significant bit first.
struct BitPacker<'a> {
    out: &'a mut Vec<u8>,
    acc: u128,
    bits: u32,
}

impl<'a> BitPacker<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitPacker { out, acc: 0, bits: 0 }
    }

    fn put(&mut self, v: u64, width: u32) {
        self.acc |= u128::from(v) << self.bits;
        self.bits += width;
        while self.bits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    fn finish(self) {
        if self.bits > 0 {
            self.out.push(self.acc as u8);
        }
    }
}

struct BitReader<'a> {
    src: &'a [u8],
    /// Bit position.
    at: usize,
}

impl BitReader<'_> {
    /// The next `width` bits; callers checked that the source holds them.
    fn get(&mut self, width: u32) -> u64 {
        let mut v = 0u64;
        for k in 0..width as usize {
            let bit = self
                .src
                .get((self.at + k) / 8)
                .map_or(0, |b| (b >> ((self.at + k) % 8)) & 1);
            v |= u64::from(bit) << k;
        }
        self.at += width as usize;
        v
    }
}

/// Values: the automatic mode choice was best or within 4% of the best
/// fixed choice for counters, float gauges and integer gauges.
fn value_config() -> pco::ChunkConfig {
    pco::ChunkConfig::default().with_compression_level(PCO_LEVEL)
}

/// The median difference between neighbours, from a sample of at most
/// 256 steps; `None` for short or non-increasing input.
fn median_step(ts: &[i64]) -> Option<u64> {
    if ts.len() < 16 {
        return None;
    }
    let stride = (ts.len() / 256).max(1);
    let mut steps: Vec<i64> = ts
        .windows(2)
        .step_by(stride)
        .map(|w| w[1].wrapping_sub(w[0]))
        .collect();
    let mid = steps.len() / 2;
    let (_, m, _) = steps.select_nth_unstable(mid);
    u64::try_from(*m).ok()
}

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
    let t_bytes = compress_timestamps(ts)?;
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
    let ts = match t_bytes.first() {
        Some(&GRID_SECTION) => decode_grid(t_bytes, count)?,
        _ => decode_column::<i64>(t_bytes, count, "timestamps")?,
    };
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

    /// 240 scrapes 15 s apart with 0-5 ms of jitter, as a 1 h backfill
    /// stores them.
    fn jittered(n: usize, seed: u64) -> Vec<i64> {
        let mut x = seed | 1;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                1_700_000_000_000 + i as i64 * 15_000 + (x % 6) as i64
            })
            .collect()
    }

    #[test]
    fn jittered_scrape_times_take_the_grid_encoding() {
        let ts = jittered(240, 7);
        let section = compress_timestamps(&ts).unwrap();
        assert_eq!(section[0], GRID_SECTION);
        // 3 bits a sample plus a dozen bytes of header.
        assert!(section.len() <= 240 * 3 / 8 + 16, "{} bytes", section.len());
        let vs: Vec<f64> = (0..240).map(|i| i as f64).collect();
        let (t2, v2) = decode_pco(&encode_pco(&ts, &vs).unwrap()).unwrap();
        assert_eq!((t2, bits(&v2)), (ts, bits(&vs)));
    }

    #[test]
    fn pco_sections_never_look_like_a_grid_section() {
        for ts in [
            vec![1i64],
            jittered(50, 3),
            vec![5, 1_000_000, 1_000_001, i64::MAX],
        ] {
            let plain = pco::standalone::simple_compress(&ts, &pco::ChunkConfig::default()).unwrap();
            assert_ne!(plain[0], GRID_SECTION);
        }
    }

    #[test]
    fn timestamps_off_any_grid_keep_pco() {
        // A gap of an hour in the middle: remainders would need 22+ bits.
        let mut ts = jittered(240, 9);
        for t in &mut ts[120..] {
            *t += 3_600_000;
        }
        let vs = vec![1.0; 240];
        let (t2, _) = decode_pco(&encode_pco(&ts, &vs).unwrap()).unwrap();
        assert_eq!(t2, ts);
        assert!(grid_timestamps(&[0, 1, 1 << 40]).is_none());
        assert!(grid_timestamps(&[5, 5, 5]).is_none());
    }

    #[test]
    fn corrupt_grid_sections_are_refused() {
        let ts = jittered(240, 11);
        let good = encode_pco(&ts, &vec![1.0; 240]).unwrap();
        // The header: tag, count (2 bytes), section length; then the grid.
        let mut short = good.clone();
        short.remove(good.len() / 3);
        assert!(decode_pco(&short).is_err());
        let mut wide = good.clone();
        let at = 1 + 2 + 1;
        assert_eq!(wide[at], GRID_SECTION);
        // first (6 bytes), step (2), base (1): the width byte follows.
        wide[at + 1 + 6 + 2 + 1] = 60;
        assert!(decode_pco(&wide).is_err());
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
        fn jittered_grids_round_trip(
            start in any::<i64>(),
            step in 1i64..1_000_000,
            jitter in proptest::collection::vec(-1000i64..1000, 2..300),
        ) {
            let ts: Vec<i64> = jitter
                .iter()
                .enumerate()
                .map(|(i, j)| start.wrapping_add(i as i64 * step * 4000).wrapping_add(*j))
                .collect();
            prop_assume!(ts.windows(2).all(|w| w[0] < w[1]));
            if let Some(section) = grid_timestamps(&ts) {
                prop_assert_eq!(decode_grid(&section, ts.len()).unwrap(), ts);
            }
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
