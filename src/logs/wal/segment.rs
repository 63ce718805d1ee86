//! Segment files: an 8-byte header (`BLOGWAL` and a format version byte),
//! the sequence number the segment starts at (u64 LE), then frames
//! `[u32 LE payload length][u32 LE CRC-32 of payload][payload]`.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::logs::LogsError;

pub const MAGIC: &[u8; 7] = b"BLOGWAL";
pub const FORMAT_VERSION: u8 = 1;
pub const HEADER_LEN: u64 = 16;
pub const FRAME_HEADER_LEN: usize = 8;
/// A corrupt length must not make recovery allocate gigabytes; no batch
/// a request may carry comes close.
pub const MAX_FRAME_BYTES: usize = 256 << 20;
const SUFFIX: &str = ".wal";

pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:08}{SUFFIX}"))
}

/// Segment numbers in `dir`, ascending.
pub fn list(dir: &Path) -> Result<Vec<u64>, LogsError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| LogsError::io(dir, e))? {
        let entry = entry.map_err(|e| LogsError::io(dir, e))?;
        let name = entry.file_name();
        let Some(num) = name.to_str().and_then(|n| n.strip_suffix(SUFFIX)) else {
            continue;
        };
        if let Ok(n) = num.parse() {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Creates segment `n` starting at `base_seq`, header written and synced
/// along with its directory entry.
pub fn create(dir: &Path, n: u64, base_seq: u64) -> Result<File, LogsError> {
    let path = segment_path(dir, n);
    let mut file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| LogsError::io(&path, e))?;
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(MAGIC);
    header.push(FORMAT_VERSION);
    header.extend_from_slice(&base_seq.to_le_bytes());
    file.write_all(&header).map_err(|e| LogsError::io(&path, e))?;
    file.sync_data().map_err(|e| LogsError::io(&path, e))?;
    sync_dir(dir)?;
    Ok(file)
}

pub fn sync_dir(dir: &Path) -> Result<(), LogsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LogsError::io(dir, e))
}

pub fn frame(out: &mut [u8], payload_start: usize) {
    let payload_len = out.len() - payload_start - FRAME_HEADER_LEN;
    let crc = crc32fast::hash(&out[payload_start + FRAME_HEADER_LEN..]);
    out[payload_start..payload_start + 4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    out[payload_start + 4..payload_start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// What reading a segment found.
pub struct Scan {
    pub base_seq: u64,
    pub payloads: Vec<Vec<u8>>,
    /// Where the last good frame ends.
    pub good_len: u64,
    /// Why reading stopped before the end, if it did.
    pub damage: Option<String>,
}

pub fn scan(path: &Path) -> Result<Scan, LogsError> {
    let file = File::open(path).map_err(|e| LogsError::io(path, e))?;
    let file_len = file.metadata().map_err(|e| LogsError::io(path, e))?.len();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut header = [0u8; HEADER_LEN as usize];
    if file_len < HEADER_LEN {
        // Created but the header never reached the disk: nothing in it.
        return Ok(Scan {
            base_seq: 0,
            payloads: Vec::new(),
            good_len: 0,
            damage: (file_len > 0).then(|| "torn header".to_string()),
        });
    }
    reader
        .read_exact(&mut header)
        .map_err(|e| LogsError::io(path, e))?;
    if &header[..7] != MAGIC || header[7] != FORMAT_VERSION {
        return Err(LogsError::WalVersion {
            path: path.to_path_buf(),
            version: header[7],
            supported: FORMAT_VERSION,
        });
    }
    let base_seq = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
    let mut scan = Scan {
        base_seq,
        payloads: Vec::new(),
        good_len: HEADER_LEN,
        damage: None,
    };
    loop {
        let left = file_len - scan.good_len;
        if left == 0 {
            break;
        }
        if left < FRAME_HEADER_LEN as u64 {
            scan.damage = Some("torn frame header".into());
            break;
        }
        let mut fh = [0u8; FRAME_HEADER_LEN];
        reader.read_exact(&mut fh).map_err(|e| LogsError::io(path, e))?;
        let len = u32::from_le_bytes([fh[0], fh[1], fh[2], fh[3]]) as usize;
        let crc = u32::from_le_bytes([fh[4], fh[5], fh[6], fh[7]]);
        if len > MAX_FRAME_BYTES {
            scan.damage = Some(format!("frame length {len} over the limit"));
            break;
        }
        if (len as u64) > left - FRAME_HEADER_LEN as u64 {
            scan.damage = Some("torn frame".into());
            break;
        }
        let mut payload = vec![0u8; len];
        reader
            .read_exact(&mut payload)
            .map_err(|e| LogsError::io(path, e))?;
        if crc32fast::hash(&payload) != crc {
            scan.damage = Some("checksum mismatch".into());
            break;
        }
        scan.good_len += (FRAME_HEADER_LEN + len) as u64;
        scan.payloads.push(payload);
    }
    Ok(scan)
}
