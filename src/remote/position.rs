//! How far a queue got, one small file per remote in `remote_write/`
//! under the data directory: the WAL position up to which everything is
//! accepted (or deliberately dropped), and the round in flight, if any.
//! Written to a temporary name, fsynced, then renamed, so a crash leaves
//! the old file or the new one.
//!
//! The round in flight is recorded before it is sent so that after a
//! crash the same samples are read again and split into the same batches:
//! a batch the receiver already accepted is then sent unchanged (and
//! refused as duplicates, harmlessly) instead of mixed with new samples
//! into one that would be refused as a whole.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::RemoteError;
use crate::tsdb::wal::WalPosition;

const MAGIC: &str = "belfry-remote-write-position v1";

/// What the file says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedPosition {
    /// Everything before this is done.
    pub done: WalPosition,
    /// A round read up to `end` and sent with `shards` shards, whose
    /// outcome is unknown.
    pub in_flight: Option<(WalPosition, usize)>,
}

/// The position file of one remote.
pub struct PositionStore {
    path: PathBuf,
}

impl PositionStore {
    /// The file for remote `name` under `dir` (created if missing).
    pub fn new(dir: &Path, name: &str) -> Result<PositionStore, RemoteError> {
        std::fs::create_dir_all(dir).map_err(|source| RemoteError::PositionIo {
            path: dir.to_path_buf(),
            source,
        })?;
        // Names are free text; the file name keeps only safe characters
        // and a hash keeps distinct names apart.
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let hash = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        Ok(PositionStore {
            path: dir.join(format!("{safe}-{hash:016x}.position")),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<Option<SavedPosition>, RemoteError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(RemoteError::PositionIo {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        parse(&text)
            .map(Some)
            .ok_or_else(|| RemoteError::PositionCorrupt {
                path: self.path.clone(),
                detail: format!("unexpected content {:?}", text.trim()),
            })
    }

    pub fn store(&self, pos: &SavedPosition) -> Result<(), RemoteError> {
        let mut text = format!("{MAGIC}\n{} {}\n", pos.done.segment, pos.done.offset);
        if let Some((end, shards)) = pos.in_flight {
            text.push_str(&format!("{} {} {shards}\n", end.segment, end.offset));
        }
        let tmp = self.path.with_extension("position.tmp");
        let io = |source| RemoteError::PositionIo {
            path: tmp.clone(),
            source,
        };
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        Ok(())
    }
}

fn parse(text: &str) -> Option<SavedPosition> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let nums = |line: &str| -> Option<Vec<u64>> { line.split(' ').map(|w| w.parse().ok()).collect() };
    let done = nums(lines.next()?)?;
    let [segment, offset] = done[..] else { return None };
    let done = WalPosition {
        segment: u32::try_from(segment).ok()?,
        offset,
    };
    let in_flight = match lines.next() {
        None => None,
        Some(line) => {
            let v = nums(line)?;
            let [segment, offset, shards] = v[..] else {
                return None;
            };
            let end = WalPosition {
                segment: u32::try_from(segment).ok()?,
                offset,
            };
            Some((end, usize::try_from(shards).ok()?))
        }
    };
    Some(SavedPosition { done, in_flight })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let store = PositionStore::new(dir.path(), "mimir / eu").unwrap();
        assert_eq!(store.load().unwrap(), None);
        let pos = SavedPosition {
            done: WalPosition {
                segment: 3,
                offset: 4096,
            },
            in_flight: Some((
                WalPosition {
                    segment: 4,
                    offset: 12,
                },
                5,
            )),
        };
        store.store(&pos).unwrap();
        assert_eq!(store.load().unwrap(), Some(pos));
        let pos = SavedPosition {
            in_flight: None,
            ..pos
        };
        store.store(&pos).unwrap();
        assert_eq!(store.load().unwrap(), Some(pos));
        std::fs::write(store.path(), "nonsense").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("is corrupt"), "{err}");
    }
}
