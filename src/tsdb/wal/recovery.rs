//! Open-time repair, so replay and new writes start from a clean log: a
//! torn tail of the last segment (crash mid-write) is cut off; corruption
//! in an earlier segment cuts that segment at its last good record and
//! sets the later segments aside as `NNNNNNNN.corrupt`, since records
//! after a hole could refer to series whose records were lost.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use super::WalError;
use super::metrics::WalMetrics;
use super::segment::{Frame, FrameReader, Listing, list_dir, sync_dir};

#[derive(Debug, Default, Clone)]
pub(super) struct Repair {
    pub truncated_bytes: u64,
    pub quarantined: Vec<PathBuf>,
    pub problems: Vec<String>,
}

pub(super) fn repair(dir: &Path, metrics: &WalMetrics) -> Result<(Listing, Repair), WalError> {
    let listing = list_dir(dir)?;
    let mut out = Repair::default();
    for tmp in &listing.temp {
        tracing::warn!(path = %tmp.display(), "removing half-written wal checkpoint");
        std::fs::remove_dir_all(tmp).map_err(|e| WalError::io(tmp, e))?;
    }
    // Only the newest checkpoint counts; older ones and the segments it
    // covers are leftovers of a checkpoint that crashed while cleaning up.
    let newest = listing.checkpoints.last().map(|c| c.0);
    for (n, path) in &listing.checkpoints {
        if Some(*n) != newest {
            std::fs::remove_dir_all(path).map_err(|e| WalError::io(path, e))?;
        }
    }
    for (n, path) in &listing.segments {
        if newest.is_some_and(|cp| *n <= cp) {
            std::fs::remove_file(path).map_err(|e| WalError::io(path, e))?;
        }
    }
    sync_dir(dir)?;
    let listing = list_dir(dir)?;

    let segs = &listing.segments;
    for (i, (_, path)) in segs.iter().enumerate() {
        let is_last = i + 1 == segs.len();
        let mut reader = FrameReader::open(path)?;
        let problem = loop {
            match reader.next_frame()? {
                Frame::Record(_) => continue,
                Frame::End => break None,
                Frame::Torn => break Some((false, "segment ends inside a record".to_string())),
                Frame::Corrupt(detail) => break Some((true, detail)),
            }
        };
        let Some((corrupt, detail)) = problem else {
            continue;
        };
        let good = reader.offset;
        let size = std::fs::metadata(path).map_err(|e| WalError::io(path, e))?.len();
        if corrupt || !is_last {
            metrics.corruptions.inc();
        }
        let msg = format!("{} at byte {good}: {detail}", path.display());
        if is_last {
            tracing::warn!(
                segment = %path.display(), offset = good, cut = size - good, %detail,
                "truncating torn or corrupt tail of the last wal segment"
            );
        } else {
            tracing::error!(
                segment = %path.display(), offset = good, %detail,
                "corrupt wal segment: records after this point are set aside and not replayed"
            );
        }
        truncate(path, good)?;
        metrics.truncations.inc();
        out.truncated_bytes += size - good;
        out.problems.push(msg);
        for (_, later) in &segs[i + 1..] {
            let mut aside = later.clone().into_os_string();
            aside.push(".corrupt");
            let aside = PathBuf::from(aside);
            std::fs::rename(later, &aside).map_err(|e| WalError::io(later, e))?;
            out.quarantined.push(aside);
        }
        sync_dir(dir)?;
        break;
    }
    Ok((list_dir(dir)?, out))
}

fn truncate(path: &Path, len: u64) -> Result<(), WalError> {
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| WalError::io(path, e))?;
    f.set_len(len).map_err(|e| WalError::io(path, e))?;
    f.sync_all().map_err(|e| WalError::io(path, e))
}
