//! The head's chunk: Gorilla-style delta-of-delta timestamps and XOR'd float
//! values in one bit stream, our own implementation of the scheme in
//! Facebook's Gorilla paper as Prometheus's XOR chunk applies it.
//!
//! Layout (documented byte by byte in `docs/storage-format.md`):
//! `[tag 0x01][u16 LE sample count][bit stream, zero-padded to a byte]`.

use super::bits::{BitReader, BitWriter, peek_bits};
use super::{ChunkError, TAG_XOR};

/// Bytes before the bit stream: tag and sample count.
const HEADER_LEN: usize = 3;

/// The sample count is a `u16` in the header.
pub const XOR_MAX_SAMPLES: usize = u16::MAX as usize;

/// Value widths of the delta-of-delta buckets after the `0` (dod = 0) case:
/// `10`+8 bits, `110`+14, `1110`+20, `1111`+64. Prometheus uses 14/17/20
/// bits; scrape timestamps jitter by milliseconds to tens of them, so an
/// 8-bit first bucket catches almost every sample. Measured at 15 s ± 50 ms
/// jitter, integer counter: 2.97 B/sample against 3.66 with Prometheus's
/// widths, 3.05 with 9/14/20 and 2.99 with 7/10/14.
const DOD_BITS: [u32; 4] = [8, 14, 20, 64];

/// Marks "no leading/trailing window yet" for the value encoder.
const NO_WINDOW: u8 = 0xff;

/// A Gorilla chunk that owns its bytes and can keep growing.
#[derive(Clone, Debug)]
pub struct XorChunk {
    buf: Vec<u8>,
    /// Unused low bits of the last byte of `buf`.
    free: u32,
    state: DecodeState,
    first_t: i64,
}

/// What the encoder and decoder both carry from one sample to the next.
#[derive(Clone, Copy, Debug)]
struct DecodeState {
    count: usize,
    t: i64,
    delta: i64,
    v: u64,
    leading: u8,
    trailing: u8,
}

impl DecodeState {
    const EMPTY: DecodeState = DecodeState {
        count: 0,
        t: 0,
        delta: 0,
        v: 0,
        leading: NO_WINDOW,
        trailing: 0,
    };
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunk {
    pub fn new() -> Self {
        // Small: most series compress well, and every head series holds
        // one open chunk (doubling growth reaches a full chunk's size in
        // a few steps).
        Self::in_buffer(Vec::with_capacity(32))
    }

    /// An empty chunk that writes into `buf` (cleared first), keeping its
    /// capacity: a series cutting its next chunk reuses the last one's
    /// buffer, already grown to about the size the next will reach.
    pub fn in_buffer(mut buf: Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&[TAG_XOR, 0, 0]);
        XorChunk {
            buf,
            free: 0,
            state: DecodeState::EMPTY,
            first_t: 0,
        }
    }

    /// Appends one sample. The caller guarantees `t` is greater than the last
    /// timestamp and that the chunk is not full ([`XorChunk::is_full`]);
    /// the head cuts chunks at 120 samples, far below the limit.
    pub fn append(&mut self, t: i64, v: f64) {
        assert!(
            !self.is_full(),
            "xor chunk holds {XOR_MAX_SAMPLES} samples: cut a new chunk before appending"
        );
        let bits = v.to_bits();
        let s = self.state;
        let mut w = BitWriter {
            buf: &mut self.buf,
            free: self.free,
        };
        match s.count {
            0 => {
                w.write_varint(t);
                w.write_bits(bits, 64);
                self.first_t = t;
                self.state.delta = 0;
            }
            1 => {
                let delta = t.wrapping_sub(s.t);
                w.write_uvarint(delta as u64);
                write_value(&mut w, &mut self.state, bits);
                self.state.delta = delta;
            }
            _ => {
                let delta = t.wrapping_sub(s.t);
                write_dod(&mut w, delta.wrapping_sub(s.delta));
                write_value(&mut w, &mut self.state, bits);
                self.state.delta = delta;
            }
        }
        self.free = w.free;
        self.state.t = t;
        self.state.v = bits;
        self.state.count += 1;
        self.buf[1..3].copy_from_slice(&(self.state.count as u16).to_le_bytes());
    }

    pub fn is_full(&self) -> bool {
        self.state.count >= XOR_MAX_SAMPLES
    }

    pub fn num_samples(&self) -> usize {
        self.state.count
    }

    pub fn first_time(&self) -> Option<i64> {
        (self.state.count > 0).then_some(self.first_t)
    }

    pub fn last_time(&self) -> Option<i64> {
        (self.state.count > 0).then_some(self.state.t)
    }

    /// The encoded form: tag, sample count and bit stream.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Takes encoded bytes, decoding every sample once to validate them and
    /// to recover the encoder state, so the chunk can be appended to.
    pub fn from_bytes(mut b: Vec<u8>) -> Result<Self, ChunkError> {
        let count = check_header(&b)?;
        let mut dec = XorDecoder::new(&b[..], count);
        let mut first_t = 0;
        while let Some(sample) = dec.next_sample()? {
            if dec.state.count == 1 {
                first_t = sample.0;
            }
        }
        let state = dec.state;
        let used_bits = dec.reader.position();
        let used_bytes = used_bits.div_ceil(8);
        if b.len() != used_bytes {
            return Err(ChunkError::Corrupt(format!(
                "xor chunk has {} bytes after its {count} samples",
                b.len() - used_bytes
            )));
        }
        let free = ((8 - used_bits % 8) % 8) as u32;
        if free > 0 {
            // Appending ORs bits into the last byte, so its padding must be zero.
            let last = b.len() - 1;
            b[last] &= !((1u8 << free) - 1);
        }
        Ok(XorChunk {
            buf: b,
            free,
            state,
            first_t,
        })
    }

    pub fn iter(&self) -> XorIter<'_> {
        XorIter {
            dec: XorDecoder::new(&self.buf[..], self.state.count),
        }
    }
}

/// Checks the tag and returns the sample count.
pub(super) fn check_header(b: &[u8]) -> Result<usize, ChunkError> {
    let kind = super::chunk_kind(b)?;
    if kind != super::ChunkKind::Xor {
        return Err(ChunkError::WrongKind {
            expected: "xor",
            found: kind.name(),
        });
    }
    if b.len() < HEADER_LEN {
        return Err(ChunkError::Truncated("xor chunk sample count"));
    }
    Ok(u16::from_le_bytes([b[1], b[2]]) as usize)
}

fn write_dod(w: &mut BitWriter<'_>, dod: i64) {
    if dod == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &n) in DOD_BITS.iter().enumerate() {
        let last = i == DOD_BITS.len() - 1;
        if last || fits_signed(dod, n) {
            // Prefix: i+1 ones, then a zero except after the last bucket.
            let ones = (i + 1) as u32;
            let (prefix, prefix_len) = if last {
                (low_ones(ones), ones)
            } else {
                (low_ones(ones) << 1, ones + 1)
            };
            let value = (dod as u64 as u128) & ((1u128 << n) - 1);
            w.write_wide(((prefix as u128) << n) | value, prefix_len + n);
            return;
        }
    }
}

fn fits_signed(v: i64, n: u32) -> bool {
    let half = 1i64 << (n - 1);
    (-half..half).contains(&v)
}

fn low_ones(n: u32) -> u64 {
    (1u64 << n) - 1
}

fn write_value(w: &mut BitWriter<'_>, s: &mut DecodeState, bits: u64) {
    let xor = bits ^ s.v;
    if xor == 0 {
        w.write_bit(false);
        return;
    }
    // Five bits hold the leading-zero count, so it saturates at 31.
    let leading = (xor.leading_zeros() as u8).min(31);
    let trailing = xor.trailing_zeros() as u8;
    if s.leading != NO_WINDOW && leading >= s.leading && trailing >= s.trailing {
        // `10`, then the bits inside the previous window.
        let sig = 64 - s.leading as u32 - s.trailing as u32;
        w.write_wide((0b10 << sig) | (xor >> s.trailing) as u128, 2 + sig);
        return;
    }
    s.leading = leading;
    s.trailing = trailing;
    let sig = 64 - leading as u32 - trailing as u32;
    // `11`, five bits of leading zeros, six of significant-bit count, the
    // bits. 64 significant bits is written as 0: six bits cannot hold 64
    // and a non-zero XOR never has 0 significant bits.
    let header = (0b11 << 11) | ((leading as u128) << 6) | (sig & 63) as u128;
    w.write_wide((header << sig) | (xor >> trailing) as u128, 13 + sig);
}

/// Decodes a bit stream of a known sample count; shared by the borrowing
/// and the owning iterators and by [`XorChunk::from_bytes`].
#[derive(Clone)]
pub(super) struct XorDecoder<B> {
    reader: BitReader<B>,
    total: usize,
    state: DecodeState,
}

impl<B: AsRef<[u8]>> XorDecoder<B> {
    /// Decodes `total` samples from chunk bytes whose header was checked.
    pub fn new(chunk: B, total: usize) -> Self {
        XorDecoder {
            reader: BitReader::new(chunk, HEADER_LEN),
            total,
            state: DecodeState::EMPTY,
        }
    }

    pub fn remaining(&self) -> usize {
        self.total - self.state.count
    }

    pub fn next_sample(&mut self) -> Result<Option<(i64, f64)>, ChunkError> {
        let s = &mut self.state;
        let r = &mut self.reader;
        match s.count {
            c if c >= self.total => return Ok(None),
            0 => {
                s.t = r.read_varint("first timestamp")?;
                s.v = r.read_bits(64, "first value")?;
            }
            1 => {
                s.delta = r.read_uvarint("first delta")? as i64;
                s.t = s.t.wrapping_add(s.delta);
                read_value(r, s)?;
            }
            _ => {
                let dod = read_dod(r)?;
                s.delta = s.delta.wrapping_add(dod);
                s.t = s.t.wrapping_add(s.delta);
                read_value(r, s)?;
            }
        }
        s.count += 1;
        Ok(Some((s.t, f64::from_bits(s.v))))
    }
}

fn read_dod<B: AsRef<[u8]>>(r: &mut BitReader<B>) -> Result<i64, ChunkError> {
    // The bucket prefix: `0`, `10`, `110`, `1110` or `1111`.
    let w = r.peek64();
    let ones = w.leading_ones() as usize;
    if ones == 0 {
        r.consume(1, "timestamp bucket")?;
        return Ok(0);
    }
    let bucket = ones.min(DOD_BITS.len()) - 1;
    let prefix = if ones >= DOD_BITS.len() {
        DOD_BITS.len()
    } else {
        ones + 1
    };
    r.consume(prefix, "timestamp bucket")?;
    let n = DOD_BITS[bucket];
    let raw = if prefix as u32 + n <= 64 {
        r.consume(n as usize, "timestamp delta-of-delta")?;
        (w << prefix) >> (64 - n)
    } else {
        r.read_bits(n, "timestamp delta-of-delta")?
    };
    // Sign-extend the n-bit two's complement value.
    let shift = 64 - n;
    Ok(((raw << shift) as i64) >> shift)
}

/// The (leading, trailing) zero counts of a new value window, from the 64
/// bits that start at its `11` control bits: 5 bits of leading zeros, then
/// 6 of significant bits (0 meaning 64).
fn new_value_window(w: u64) -> Result<(u8, u8), ChunkError> {
    let leading = ((w >> 57) & 0x1f) as u32;
    let mut sig = ((w >> 51) & 0x3f) as u32;
    if sig == 0 {
        sig = 64;
    }
    if leading + sig > 64 {
        return Err(ChunkError::Corrupt(format!(
            "value window of {leading} leading and {sig} significant bits exceeds 64"
        )));
    }
    Ok((leading as u8, (64 - leading - sig) as u8))
}

fn read_value<B: AsRef<[u8]>>(r: &mut BitReader<B>, s: &mut DecodeState) -> Result<(), ChunkError> {
    // Control bits: `0` same value, `10` reuse the window, `11` new window
    // (5 bits of leading zeros, 6 of significant bits).
    let w = r.peek64();
    if w >> 63 == 0 {
        return r.consume(1, "value control bit");
    }
    if (w >> 62) & 1 == 0 {
        r.consume(2, "value control bit")?;
        if s.leading == NO_WINDOW {
            return Err(ChunkError::Corrupt(
                "value reuses a leading/trailing window before one was set".into(),
            ));
        }
    } else {
        r.consume(2, "value control bit")?;
        r.consume(5, "value leading zeros")?;
        r.consume(6, "value significant bits")?;
        (s.leading, s.trailing) = new_value_window(w)?;
    }
    let sig = 64 - s.leading as u32 - s.trailing as u32;
    let bits = r.read_bits(sig, "value bits")?;
    s.v ^= bits << s.trailing;
    Ok(())
}

/// Decodes all `count` samples of chunk bytes whose header was checked
/// onto `out`: the query path's decoder. Same format and checks as
/// [`XorDecoder`], but the loop keeps its state in locals and reads each
/// sample's prefixes and bits from one 64-bit window (two for the rare
/// wide ones), checking the end once per field.
pub(super) fn decode_all(bytes: &[u8], count: usize, out: &mut Vec<(i64, f64)>) -> Result<(), ChunkError> {
    let mut dec = XorDecoder::new(bytes, count);
    // The first two samples have encodings of their own.
    for _ in 0..count.min(2) {
        if let Some(s) = dec.next_sample()? {
            out.push(s);
        }
    }
    if count <= 2 {
        return Ok(());
    }
    let mut st = dec.state;
    let mut pos = dec.reader.position();
    let total = bytes.len() * 8;
    out.reserve(count - 2);
    for _ in 2..count {
        let w = peek_bits(bytes, pos);
        let dod = if w >> 63 == 0 {
            pos += 1;
            0
        } else {
            // `10`, `110`, `1110`: a terminated prefix; `1111`: the last bucket.
            let ones = w.leading_ones() as usize;
            let last = DOD_BITS.len();
            let (bucket, prefix) = if ones >= last {
                (last - 1, last)
            } else {
                (ones - 1, ones + 1)
            };
            let n = DOD_BITS[bucket];
            let raw = if prefix as u32 + n <= 64 {
                (w << prefix) >> (64 - n)
            } else {
                peek_bits(bytes, pos + prefix) >> (64 - n)
            };
            pos += prefix + n as usize;
            let shift = 64 - n;
            ((raw << shift) as i64) >> shift
        };
        if pos > total {
            return Err(ChunkError::Truncated("timestamp delta-of-delta"));
        }
        st.delta = st.delta.wrapping_add(dod);
        st.t = st.t.wrapping_add(st.delta);
        let w = peek_bits(bytes, pos);
        if w >> 63 == 0 {
            pos += 1;
        } else {
            let head = if (w >> 62) & 1 == 0 {
                if st.leading == NO_WINDOW {
                    return Err(ChunkError::Corrupt(
                        "value reuses a leading/trailing window before one was set".into(),
                    ));
                }
                2
            } else {
                (st.leading, st.trailing) = new_value_window(w)?;
                13
            };
            let sig = 64 - st.leading as u32 - st.trailing as u32;
            let bits = if head + sig <= 64 {
                (w << head) >> (64 - sig)
            } else {
                peek_bits(bytes, pos + head as usize) >> (64 - sig)
            };
            pos += (head + sig) as usize;
            st.v ^= bits << st.trailing;
        }
        if pos > total {
            return Err(ChunkError::Truncated("value bits"));
        }
        out.push((st.t, f64::from_bits(st.v)));
    }
    Ok(())
}

/// Iterates the samples of an [`XorChunk`]; the chunk was validated when
/// built, so decoding cannot fail here.
pub struct XorIter<'a> {
    dec: XorDecoder<&'a [u8]>,
}

impl Iterator for XorIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        // A chunk is valid by construction (append or from_bytes), so an
        // error cannot occur; stopping is the safe answer if it ever did.
        self.dec.next_sample().ok().flatten()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.dec.remaining()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{STALE_NAN, STALE_NAN_BITS};
    use proptest::prelude::*;

    fn collect(c: &XorChunk) -> Vec<(i64, u64)> {
        c.iter().map(|(t, v)| (t, v.to_bits())).collect()
    }

    #[test]
    fn empty_chunk_round_trips() {
        let c = XorChunk::new();
        assert_eq!(c.num_samples(), 0);
        assert_eq!(c.first_time(), None);
        assert_eq!(c.bytes(), &[TAG_XOR, 0, 0]);
        let back = XorChunk::from_bytes(c.bytes().to_vec()).unwrap();
        assert_eq!(back.iter().count(), 0);
    }

    #[test]
    fn special_values_survive_bit_exactly() {
        let vals = [
            1.0,
            STALE_NAN,
            f64::NAN,
            f64::from_bits(0xfff8_0000_dead_beef),
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            STALE_NAN,
        ];
        let mut c = XorChunk::new();
        for (i, v) in vals.iter().enumerate() {
            c.append(1000 + i as i64 * 15_000, *v);
        }
        let got = collect(&c);
        assert_eq!(got.len(), vals.len());
        for (g, v) in got.iter().zip(vals) {
            assert_eq!(g.1, v.to_bits());
        }
        assert_eq!(got[1].1, STALE_NAN_BITS);
    }

    #[test]
    fn extreme_timestamps_round_trip() {
        let ts = [i64::MIN, -5, 0, 1, i64::MAX - 1, i64::MAX];
        let mut c = XorChunk::new();
        for t in ts {
            c.append(t, t as f64);
        }
        let got: Vec<i64> = c.iter().map(|s| s.0).collect();
        assert_eq!(got, ts);
        assert_eq!(c.first_time(), Some(i64::MIN));
        assert_eq!(c.last_time(), Some(i64::MAX));
    }

    #[test]
    fn reopened_chunk_keeps_appending() {
        let mut c = XorChunk::new();
        for i in 0..50 {
            c.append(i * 15_000 + (i % 3), (i * i) as f64 * 0.5);
        }
        let mut reopened = XorChunk::from_bytes(c.bytes().to_vec()).unwrap();
        for i in 50..120 {
            c.append(i * 15_000 + (i % 3), (i * i) as f64 * 0.5);
            reopened.append(i * 15_000 + (i % 3), (i * i) as f64 * 0.5);
        }
        assert_eq!(reopened.bytes(), c.bytes());
        assert_eq!(reopened.first_time(), Some(0));
        assert_eq!(reopened.num_samples(), 120);
    }

    #[test]
    fn rejects_trailing_bytes_and_wrong_tags() {
        let mut c = XorChunk::new();
        c.append(1, 1.0);
        let mut b = c.bytes().to_vec();
        b.push(0);
        assert!(matches!(XorChunk::from_bytes(b), Err(ChunkError::Corrupt(_))));
        assert_eq!(XorChunk::from_bytes(vec![]).unwrap_err(), ChunkError::Empty);
        assert_eq!(
            XorChunk::from_bytes(vec![0x7f]).unwrap_err(),
            ChunkError::UnknownTag(0x7f)
        );
        let mut truncated = c.bytes().to_vec();
        truncated.pop();
        assert!(matches!(
            XorChunk::from_bytes(truncated),
            Err(ChunkError::Truncated(_))
        ));
    }

    #[test]
    fn dod_buckets_cover_their_ranges() {
        // Each bucket edge, both signs, plus the 64-bit fallback.
        let mut deltas = vec![15_000i64];
        for n in DOD_BITS[..3].iter() {
            let half = 1i64 << (n - 1);
            deltas.extend([half - 1, -half, half, -half - 1]);
        }
        let mut t = 0i64;
        let mut delta = 1_000_000_000i64;
        let mut c = XorChunk::new();
        let mut want = vec![];
        c.append(t, 0.0);
        want.push(t);
        for d in deltas {
            delta += d;
            t += delta;
            c.append(t, 0.0);
            want.push(t);
        }
        let got: Vec<i64> = c.iter().map(|s| s.0).collect();
        assert_eq!(got, want);
    }

    proptest! {
        #[test]
        fn round_trips_any_samples(
            start in any::<i64>(),
            steps in proptest::collection::vec((1i64..1_000_000_000, any::<u64>()), 0..300),
        ) {
            let mut c = XorChunk::new();
            let mut t = start;
            let mut want = vec![];
            for (step, bits) in steps {
                let Some(next) = t.checked_add(step) else { break };
                t = next;
                c.append(t, f64::from_bits(bits));
                want.push((t, bits));
            }
            prop_assert_eq!(collect(&c), want.clone());
            let back = XorChunk::from_bytes(c.bytes().to_vec()).unwrap();
            prop_assert_eq!(collect(&back), want);
        }

        #[test]
        fn arbitrary_bytes_never_panic(mut b in proptest::collection::vec(any::<u8>(), 0..400)) {
            if !b.is_empty() && b.len() % 3 == 0 {
                b[0] = TAG_XOR;
            }
            let mut out = Vec::new();
            if let Ok(count) = check_header(&b) {
                let _ = decode_all(&b, count, &mut out);
            }
            let _ = XorChunk::from_bytes(b);
        }

        /// The query path's decoder agrees with the sample-by-sample one on
        /// valid chunks and on chunks with a flipped bit or cut short:
        /// the same samples, or an error for both.
        #[test]
        fn decode_all_agrees_with_the_decoder(
            steps in proptest::collection::vec((0i64..100_000, any::<u64>(), 0u8..4), 0..300),
            damage in proptest::option::of((any::<usize>(), any::<bool>())),
        ) {
            let mut c = XorChunk::new();
            let mut t = 1_700_000_000_000i64;
            let mut v = 1.0f64;
            for (step, bits, kind) in steps {
                t += step;
                v = match kind {
                    0 => v,
                    1 => v + 1.0,
                    2 => f64::from_bits(bits),
                    _ => (bits % 1000) as f64 / 8.0,
                };
                c.append(t, v);
            }
            let mut b = c.bytes().to_vec();
            if let Some((at, cut)) = damage && b.len() > HEADER_LEN {
                let body = b.len() - HEADER_LEN;
                if cut {
                    b.truncate(HEADER_LEN + at % body);
                } else {
                    let bit = at % (body * 8);
                    b[HEADER_LEN + bit / 8] ^= 1 << (bit % 8);
                }
            }
            let count = check_header(&b).unwrap();
            let mut want = Vec::new();
            let mut dec = XorDecoder::new(&b[..], count);
            let want_ok = loop {
                match dec.next_sample() {
                    Ok(Some(s)) => want.push((s.0, s.1.to_bits())),
                    Ok(None) => break true,
                    Err(_) => break false,
                }
            };
            let mut got = Vec::new();
            let got_ok = decode_all(&b, count, &mut got).is_ok();
            prop_assert_eq!(got_ok, want_ok);
            if want_ok {
                let got: Vec<(i64, u64)> = got.iter().map(|s| (s.0, s.1.to_bits())).collect();
                prop_assert_eq!(got, want);
            }
        }

        #[test]
        fn flipped_bits_never_panic(flip in 0usize..2000, n in 1usize..120) {
            let mut c = XorChunk::new();
            for i in 0..n as i64 {
                c.append(i * 15_000 + (i * 7919) % 101 - 50, (i as f64).sqrt());
            }
            let mut b = c.bytes().to_vec();
            let flip = flip % (b.len() * 8);
            b[flip / 8] ^= 1 << (flip % 8);
            if let Ok(c) = XorChunk::from_bytes(b) {
                let _ = c.iter().count();
            }
        }
    }
}
