//! Segment files and their record framing:
//! `[u32 LE payload length][u32 LE CRC-32 of payload][payload]`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::WalError;

pub(super) const FRAME_HEADER_LEN: usize = 8;

/// The largest payload a frame may carry. A corrupt length field must not
/// make recovery allocate gigabytes, and no sane batch comes close.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

pub(super) const CHECKPOINT_PREFIX: &str = "checkpoint.";
pub(super) const TEMP_SUFFIX: &str = ".tmp";

pub(super) fn segment_name(n: u32) -> String {
    format!("{n:08}")
}

pub(super) fn checkpoint_name(n: u32) -> String {
    format!("{CHECKPOINT_PREFIX}{n:08}")
}

/// What a WAL directory holds, each list sorted by number.
#[derive(Debug, Default)]
pub(super) struct Listing {
    pub segments: Vec<(u32, PathBuf)>,
    pub checkpoints: Vec<(u32, PathBuf)>,
    /// Half-written checkpoints left by a crash.
    pub temp: Vec<PathBuf>,
}

pub(super) fn list_dir(dir: &Path) -> Result<Listing, WalError> {
    let mut listing = Listing::default();
    let entries = std::fs::read_dir(dir).map_err(|e| WalError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if let Some(n) = parse_number(name) {
            listing.segments.push((n, path));
        } else if let Some(rest) = name.strip_prefix(CHECKPOINT_PREFIX) {
            if rest.ends_with(TEMP_SUFFIX) {
                listing.temp.push(path);
            } else if let Some(n) = parse_number(rest) {
                listing.checkpoints.push((n, path));
            }
        }
    }
    listing.segments.sort();
    listing.checkpoints.sort();
    Ok(listing)
}

fn parse_number(s: &str) -> Option<u32> {
    if s.len() < 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Appends one framed payload to `out`, checking the size limit.
#[cfg(test)]
pub(super) fn frame_into(out: &mut Vec<u8>, payload: &[u8]) -> Result<(), WalError> {
    if payload.len() > MAX_RECORD_BYTES {
        return Err(WalError::RecordTooLarge {
            size: payload.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    let start = out.len();
    out.resize(start + FRAME_HEADER_LEN, 0);
    out.extend_from_slice(payload);
    fill_frame_header(&mut out[start..])
}

/// Fills in the header of a frame whose payload follows `FRAME_HEADER_LEN`
/// reserved bytes at the start of `frame`, checking the size limit.
pub(super) fn fill_frame_header(frame: &mut [u8]) -> Result<(), WalError> {
    let (header, payload) = frame.split_at_mut(FRAME_HEADER_LEN);
    if payload.len() > MAX_RECORD_BYTES {
        return Err(WalError::RecordTooLarge {
            size: payload.len(),
            limit: MAX_RECORD_BYTES,
        });
    }
    header[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    header[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    Ok(())
}

/// One step of reading a segment.
#[derive(Debug)]
pub(super) enum Frame {
    Record(Vec<u8>),
    /// Clean end of file.
    End,
    /// The file ends inside a frame: a write that did not finish.
    Torn,
    /// A complete frame whose checksum or header is wrong.
    Corrupt(String),
}

/// Reads frames sequentially; `offset` is where the next frame starts,
/// which after a torn or corrupt frame is the last good position.
pub(super) struct FrameReader {
    reader: BufReader<File>,
    pub path: PathBuf,
    pub offset: u64,
    len: u64,
}

impl FrameReader {
    pub fn open(path: &Path) -> Result<Self, WalError> {
        let file = File::open(path).map_err(|e| WalError::io(path, e))?;
        let len = file.metadata().map_err(|e| WalError::io(path, e))?.len();
        Ok(FrameReader {
            reader: BufReader::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            offset: 0,
            len,
        })
    }

    /// Opens `path` to read from byte `offset`, which must be a frame
    /// boundary at or before the end of the file.
    pub fn open_at(path: &Path, offset: u64) -> Result<Self, WalError> {
        use std::io::{Seek, SeekFrom};
        let mut file = File::open(path).map_err(|e| WalError::io(path, e))?;
        let len = file.metadata().map_err(|e| WalError::io(path, e))?.len();
        if offset > len {
            return Err(WalError::Corrupt {
                path: path.to_path_buf(),
                offset,
                detail: format!("position is past the end of the {len}-byte segment"),
            });
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| WalError::io(path, e))?;
        Ok(FrameReader {
            reader: BufReader::with_capacity(1 << 16, file),
            path: path.to_path_buf(),
            offset,
            len,
        })
    }

    pub fn next_frame(&mut self) -> Result<Frame, WalError> {
        let remaining = self.len - self.offset;
        if remaining == 0 {
            return Ok(Frame::End);
        }
        if remaining < FRAME_HEADER_LEN as u64 {
            return Ok(Frame::Torn);
        }
        let mut header = [0u8; FRAME_HEADER_LEN];
        self.read_exact(&mut header)?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as u64;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if len > remaining - FRAME_HEADER_LEN as u64 {
            return Ok(Frame::Torn);
        }
        if len == 0 {
            return Ok(Frame::Corrupt("zero-length record".into()));
        }
        if len > MAX_RECORD_BYTES as u64 {
            return Ok(Frame::Corrupt(format!(
                "record length {len} exceeds the {MAX_RECORD_BYTES}-byte limit"
            )));
        }
        let mut payload = vec![0u8; len as usize];
        self.read_exact(&mut payload)?;
        let actual = crc32fast::hash(&payload);
        if actual != crc {
            return Ok(Frame::Corrupt(format!(
                "crc mismatch: stored {crc:#010x}, computed {actual:#010x}"
            )));
        }
        self.offset += FRAME_HEADER_LEN as u64 + len;
        Ok(Frame::Record(payload))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), WalError> {
        self.reader
            .read_exact(buf)
            .map_err(|e| WalError::io(&self.path, e))
    }
}

/// fsyncs a directory so entries created, renamed or removed in it persist.
pub(super) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| WalError::io(dir, e))
}
