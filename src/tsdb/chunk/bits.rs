//! Most-significant-bit-first bit streams for the XOR chunk.

use super::ChunkError;

/// Appends bits to a byte vector that may already hold a header and earlier
/// bits; `free` is how many low bits of the last byte are still unused.
pub(super) struct BitWriter<'a> {
    pub buf: &'a mut Vec<u8>,
    pub free: u32,
}

impl BitWriter<'_> {
    pub fn write_bit(&mut self, bit: bool) {
        self.write_bits(bit as u64, 1);
    }

    /// Writes the low `n` bits of `v` (n <= 64), most significant first.
    pub fn write_bits(&mut self, v: u64, n: u32) {
        self.write_wide(v as u128, n);
    }

    /// Writes the low `n` bits of `v` (n <= 120), most significant first,
    /// so an encoder can join a control prefix and its payload in one call.
    /// No loop: the partial last byte and the new bits are joined in one
    /// word, which is stored whole and cut back to the bytes it covers.
    pub fn write_wide(&mut self, v: u128, n: u32) {
        debug_assert!(n <= 120, "write_wide takes at most 120 bits, got {n}");
        if n == 0 {
            return;
        }
        let v = v & (u128::MAX >> (128 - n));
        let (mut word, mut bits) = (v, n);
        if self.free > 0 {
            let last = self.buf.pop().expect("free bits imply a last byte");
            word |= ((last >> self.free) as u128) << n;
            bits += 8 - self.free;
        }
        let bytes = bits.div_ceil(8);
        let len = self.buf.len();
        // Top-align the bits so the bytes to keep come first.
        self.buf.extend_from_slice(&(word << (128 - bits)).to_be_bytes());
        self.buf.truncate(len + bytes as usize);
        self.free = bytes * 8 - bits;
    }

    /// An unsigned LEB128 varint, bit-aligned (whole bytes are not needed).
    pub fn write_uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.write_bits((v as u8 | 0x80) as u64, 8);
            v >>= 7;
        }
        self.write_bits(v, 8);
    }

    pub fn write_varint(&mut self, v: i64) {
        self.write_uvarint(((v << 1) ^ (v >> 63)) as u64);
    }
}

/// Reads bits from a byte slice; every read checks the end so truncated or
/// corrupt input becomes an error, never a panic.
/// Generic over the byte owner so the owning query iterator can hold an
/// `Arc<[u8]>` where the chunk's own iterator borrows.
#[derive(Clone)]
pub(super) struct BitReader<B> {
    buf: B,
    pos: usize,
}

impl<B: AsRef<[u8]>> BitReader<B> {
    /// Starts reading at byte `start`.
    pub fn new(buf: B, start: usize) -> Self {
        BitReader { buf, pos: start * 8 }
    }

    /// Bits consumed so far, counted from the start of the buffer.
    pub fn position(&self) -> usize {
        self.pos
    }

    #[cfg(test)]
    pub fn read_bit(&mut self, what: &'static str) -> Result<bool, ChunkError> {
        let byte = *self
            .buf
            .as_ref()
            .get(self.pos / 8)
            .ok_or(ChunkError::Truncated(what))?;
        let bit = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos += 1;
        Ok(bit == 1)
    }

    /// Bits left to read.
    pub fn remaining(&self) -> usize {
        self.buf.as_ref().len() * 8 - self.pos
    }

    /// The next 64 bits without consuming them, zeros past the end: the
    /// decoder reads a sample's control prefixes from one word instead of
    /// bit by bit, then [`consume`](Self::consume)s what it used.
    #[inline]
    pub fn peek64(&self) -> u64 {
        peek_bits(self.buf.as_ref(), self.pos)
    }

    /// Consumes `n` peeked bits; an error when fewer are left.
    #[inline]
    pub fn consume(&mut self, n: usize, what: &'static str) -> Result<(), ChunkError> {
        if n > self.remaining() {
            return Err(ChunkError::Truncated(what));
        }
        self.pos += n;
        Ok(())
    }

    /// Reads `n` bits (n <= 64) as the low bits of the result.
    pub fn read_bits(&mut self, n: u32, what: &'static str) -> Result<u64, ChunkError> {
        let buf = self.buf.as_ref();
        if self.pos + n as usize > buf.len() * 8 {
            return Err(ChunkError::Truncated(what));
        }
        if n == 0 {
            return Ok(0);
        }
        // Fast path: one unaligned big-endian load covers the whole read.
        let at = self.pos / 8;
        let off = (self.pos % 8) as u32;
        if off + n <= 64
            && let Some(word) = buf.get(at..at + 8)
        {
            let word = u64::from_be_bytes(word.try_into().expect("8 bytes"));
            self.pos += n as usize;
            return Ok((word << off) >> (64 - n));
        }
        let mut v = 0u64;
        let mut remaining = n;
        while remaining > 0 {
            let byte = buf[self.pos / 8];
            let avail = 8 - (self.pos % 8) as u32;
            let take = avail.min(remaining);
            let piece = (byte as u64 >> (avail - take)) & low_mask(take);
            v = (v << take) | piece;
            self.pos += take as usize;
            remaining -= take;
        }
        Ok(v)
    }

    pub fn read_uvarint(&mut self, what: &'static str) -> Result<u64, ChunkError> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = self.read_bits(8, what)?;
            if i == 9 && byte > 1 {
                return Err(ChunkError::Corrupt(format!("{what}: varint overflows 64 bits")));
            }
            v |= (byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ChunkError::Corrupt(format!(
            "{what}: varint longer than 10 bytes"
        )))
    }

    pub fn read_varint(&mut self, what: &'static str) -> Result<i64, ChunkError> {
        let u = self.read_uvarint(what)?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }
}

/// The 64 bits of `b` from bit `pos` on (most significant first), zeros
/// past the end: one unaligned load where nine bytes are left.
#[inline(always)]
pub(super) fn peek_bits(b: &[u8], pos: usize) -> u64 {
    let at = pos / 8;
    let off = (pos % 8) as u32;
    let (word, next) = match b.get(at..at + 9) {
        Some(w) => (u64::from_be_bytes(w[..8].try_into().expect("8 bytes")), w[8]),
        None => {
            let mut padded = [0u8; 9];
            let tail = b.get(at..).unwrap_or(&[]);
            padded[..tail.len()].copy_from_slice(tail);
            (
                u64::from_be_bytes(padded[..8].try_into().expect("8 bytes")),
                padded[8],
            )
        }
    };
    // `next >> 8` is 0 when `off` is 0, so no branch is needed.
    (word << off) | ((next as u64) >> (8 - off))
}

fn low_mask(n: u32) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_and_varints_round_trip() {
        let mut buf = vec![0xAA];
        let mut w = BitWriter {
            buf: &mut buf,
            free: 0,
        };
        w.write_bit(true);
        w.write_bits(0x1234, 13);
        w.write_bits(u64::MAX, 64);
        w.write_varint(-1_700_000_000_000);
        w.write_uvarint(u64::MAX);
        w.write_bits(0, 0);
        let mut r = BitReader::new(&buf[..], 1);
        assert!(r.read_bit("a").unwrap());
        assert_eq!(r.read_bits(13, "b").unwrap(), 0x1234);
        assert_eq!(r.read_bits(64, "c").unwrap(), u64::MAX);
        assert_eq!(r.read_varint("d").unwrap(), -1_700_000_000_000);
        assert_eq!(r.read_uvarint("e").unwrap(), u64::MAX);
        assert!(r.read_bits(8, "f").is_err());
    }
}
