//! zstd over a record's body. After XOR coding a scrape's values still
//! take about 3.3 bytes each and a series record about 10 bytes per
//! series; zstd's fastest level brings them to about 2.6 and 2, which is
//! what keeps a young store's WAL under half of Prometheus's (compressed)
//! one. The type byte stays outside, with [`COMPRESSED`] set.

use super::error::DecodeError;
use super::segment::MAX_RECORD_BYTES;

/// Set in the type byte of a record whose body is a zstd frame.
pub(super) const COMPRESSED: u8 = 0x80;
/// Bodies shorter than this are left alone: zstd's frame costs more than
/// it could save, and a lone sample's record stays cheap to write.
const MIN_BODY: usize = 128;
/// zstd's level 1: fast enough to run under the WAL's lock; higher levels
/// measured under 1% smaller on scrape records.
const LEVEL: i32 = 1;

pub(super) struct PayloadCompressor {
    zstd: zstd::bulk::Compressor<'static>,
    scratch: Vec<u8>,
}

impl PayloadCompressor {
    pub fn new() -> Self {
        PayloadCompressor {
            // Level 1 cannot be refused; a failure here is out of memory.
            zstd: zstd::bulk::Compressor::new(LEVEL).expect("a zstd compression context"),
            scratch: Vec::new(),
        }
    }

    /// Compresses the body of the payload that starts at `buf[start]` (its
    /// type byte) in place, when that makes it smaller.
    pub fn compress_payload(&mut self, buf: &mut Vec<u8>, start: usize) {
        let body = &buf[start + 1..];
        if body.len() < MIN_BODY {
            return;
        }
        self.scratch.clear();
        self.scratch.reserve(zstd::zstd_safe::compress_bound(body.len()));
        match self.zstd.compress_to_buffer(body, &mut self.scratch) {
            Ok(n) if n < body.len() => {}
            // Incompressible, or a zstd error: the plain body is as good.
            _ => return,
        }
        buf[start] |= COMPRESSED;
        buf.truncate(start + 1);
        buf.extend_from_slice(&self.scratch);
        if self.scratch.capacity() > 4 << 20 {
            self.scratch = Vec::new();
        }
    }
}

/// The body a compressed record holds, bounded by the record size limit.
pub(super) fn decompress_body(body: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let size = match zstd::zstd_safe::get_frame_content_size(body) {
        Ok(Some(size)) => size,
        Ok(None) => {
            return Err(DecodeError(
                "compressed record body does not state its size".into(),
            ));
        }
        Err(_) => return Err(DecodeError("compressed record body is not a zstd frame".into())),
    };
    if size > MAX_RECORD_BYTES as u64 {
        return Err(DecodeError(format!(
            "compressed record body claims {size} bytes, over the {MAX_RECORD_BYTES}-byte limit"
        )));
    }
    let out = zstd::bulk::decompress(body, size as usize)
        .map_err(|e| DecodeError(format!("compressed record body does not decompress: {e}")))?;
    if out.len() as u64 != size {
        return Err(DecodeError(format!(
            "compressed record body holds {} bytes, its frame says {size}",
            out.len()
        )));
    }
    Ok(out)
}
