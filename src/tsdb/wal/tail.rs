//! Reading the WAL from outside while it is written, as Prometheus's WAL
//! watcher does for remote write: positions (segment, byte offset), a
//! reader that follows a segment as it grows, the newest checkpoint's
//! records, and holds that keep checkpoints from deleting segments a
//! reader still needs. Records are decoded only by [`WalRecord::decode`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::segment::{Frame, FrameReader, list_dir, segment_name};
use super::value_bases::ValueBases;
use super::{WalError, WalRecord};

/// Where the next record starts: a segment number and a byte offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalPosition {
    pub segment: u32,
    pub offset: u64,
}

/// What a WAL directory holds now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalListing {
    /// The newest checkpoint; it covers every segment up to its number.
    pub checkpoint: Option<u32>,
    /// Segment numbers after the checkpoint, ascending.
    pub segments: Vec<u32>,
}

pub fn list_wal(dir: &Path) -> Result<WalListing, WalError> {
    let listing = list_dir(dir)?;
    let checkpoint = listing.checkpoints.last().map(|c| c.0);
    let segments = listing
        .segments
        .iter()
        .map(|s| s.0)
        .filter(|n| checkpoint.is_none_or(|cp| *n > cp))
        .collect();
    Ok(WalListing { checkpoint, segments })
}

/// Bytes of the segments numbered `from` and later: what a reader at
/// `from` holds on disk.
pub fn segment_bytes_from(dir: &Path, from: u32) -> Result<u64, WalError> {
    let mut total = 0;
    for (n, path) in list_dir(dir)?.segments {
        if n >= from {
            total += std::fs::metadata(&path)
                .map_err(|e| WalError::io(&path, e))?
                .len();
        }
    }
    Ok(total)
}

/// Calls `f` with every record of the newest checkpoint; returns its
/// number, or `None` when there is none. A checkpoint replaced while it
/// is read fails with an i/o error; the caller may list and try again.
pub fn read_checkpoint(dir: &Path, mut f: impl FnMut(WalRecord)) -> Result<Option<u32>, WalError> {
    let listing = list_dir(dir)?;
    let Some((n, cp_dir)) = listing.checkpoints.last() else {
        return Ok(None);
    };
    for (_, path) in list_dir(cp_dir)?.segments {
        let mut reader = FrameReader::open(&path)?;
        let mut bases = ValueBases::default();
        loop {
            let at = reader.offset;
            match reader.next_frame()? {
                Frame::Record(payload) => f(decode(&path, at, &payload, &mut bases)?),
                Frame::End => break,
                Frame::Torn => return Err(corrupt(&path, at, "file ends inside a record".into())),
                Frame::Corrupt(detail) => return Err(corrupt(&path, at, detail)),
            }
        }
    }
    Ok(Some(*n))
}

/// Follows one segment from a position, seeing records appended after it
/// was opened.
pub struct SegmentTail {
    path: PathBuf,
    segment: u32,
    reader: FrameReader,
    /// The reader stopped at a frame it could not finish (it may have
    /// read past its offset), so it is reopened before the next read.
    stale: bool,
    /// The segment's values up to the reader's offset (see
    /// `value_bases.rs`).
    bases: ValueBases,
}

impl SegmentTail {
    pub fn open(dir: &Path, at: WalPosition) -> Result<SegmentTail, WalError> {
        let path = dir.join(segment_name(at.segment));
        // Values are coded against the segment's earlier records, so a
        // tail that starts inside a segment reads its way there.
        let mut reader = FrameReader::open(&path)?;
        let mut bases = ValueBases::default();
        while reader.offset < at.offset {
            let offset = reader.offset;
            match reader.next_frame()? {
                Frame::Record(payload) => {
                    decode(&path, offset, &payload, &mut bases)?;
                }
                Frame::Corrupt(detail) => return Err(corrupt(&path, offset, detail)),
                Frame::End | Frame::Torn => {
                    return Err(corrupt(
                        &path,
                        offset,
                        format!("the segment ends before position {}", at.offset),
                    ));
                }
            }
        }
        if reader.offset != at.offset {
            return Err(corrupt(
                &path,
                at.offset,
                "the position is not at a record boundary".to_string(),
            ));
        }
        Ok(SegmentTail {
            path,
            segment: at.segment,
            reader,
            stale: false,
            bases,
        })
    }

    /// The position after the last record returned.
    pub fn position(&self) -> WalPosition {
        WalPosition {
            segment: self.segment,
            offset: self.reader.offset,
        }
    }

    /// The next complete record, or `None` when none is complete yet (the
    /// end of what is written, or a write still in flight).
    pub fn next_record(&mut self) -> Result<Option<WalRecord>, WalError> {
        let mut reopened = false;
        if self.stale {
            self.reader = FrameReader::open_at(&self.path, self.reader.offset)?;
            self.stale = false;
            reopened = true;
        }
        loop {
            let at = self.reader.offset;
            match self.reader.next_frame()? {
                Frame::Record(payload) => return decode(&self.path, at, &payload, &mut self.bases).map(Some),
                Frame::End | Frame::Torn if reopened => {
                    self.stale = true;
                    return Ok(None);
                }
                Frame::End | Frame::Torn => {
                    // The reader knows the length the file had when it was
                    // opened; reopening sees what was appended since.
                    self.reader = FrameReader::open_at(&self.path, at)?;
                    reopened = true;
                }
                Frame::Corrupt(detail) => return Err(corrupt(&self.path, at, detail)),
            }
        }
    }
}

fn decode(path: &Path, at: u64, payload: &[u8], bases: &mut ValueBases) -> Result<WalRecord, WalError> {
    WalRecord::decode_in(payload, bases).map_err(|e| corrupt(path, at, e.to_string()))
}

fn corrupt(path: &Path, offset: u64, detail: String) -> WalError {
    WalError::Corrupt {
        path: path.to_path_buf(),
        offset,
        detail,
    }
}

/// The oldest segment each reader still needs. A checkpoint compacts and
/// deletes only segments before the lowest hold, so a reader that fell
/// behind (a receiver down) resumes where it stopped. Readers bound their
/// own holds: one that gives up releases its hold.
#[derive(Debug, Default)]
pub struct WalHolds {
    holds: Mutex<BTreeMap<String, u32>>,
}

impl WalHolds {
    /// Keeps segment `segment` and every later one for `owner`.
    pub fn hold(&self, owner: &str, segment: u32) {
        self.holds.lock().insert(owner.to_string(), segment);
    }

    pub fn release(&self, owner: &str) {
        self.holds.lock().remove(owner);
    }

    /// The lowest segment any owner holds.
    pub fn lowest(&self) -> Option<u32> {
        self.holds.lock().values().min().copied()
    }
}
