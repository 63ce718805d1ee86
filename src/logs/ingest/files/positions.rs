//! Read positions in `state.redb` (table `log_file_positions`): per file
//! identity (`dev:inode`), the path it was found at and the offset up to
//! which its records are acknowledged by the logs store. A position is
//! written only after the store answered for the records before it.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::discovery::FileId;
use crate::state::{StateError, StateStore, WriteOp, tables};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    /// Where the file was found (for people reading the table).
    pub path: String,
    /// Bytes of the file whose records are acknowledged.
    pub offset: u64,
    /// A batch handed to the store whose answer is not recorded yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingBatch>,
}

/// Written before a batch goes to the store: if Belfry dies before the
/// position after it is saved, the restart looks for the batch's marker
/// in the store to tell whether the batch was stored (then `offset` is
/// where to go on) or not (then the position before it stands).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PendingBatch {
    /// The position after the batch.
    pub offset: u64,
    /// The value of the batch's `file_batch` marker field.
    pub batch: u64,
}

pub struct Positions {
    state: Arc<StateStore>,
}

impl Positions {
    pub fn new(state: Arc<StateStore>) -> Self {
        Positions { state }
    }

    /// Every stored position; rows that do not decode are reported and
    /// skipped (their file is then read per `start_at`).
    pub fn load(&self) -> Result<HashMap<FileId, Position>, StateError> {
        let mut out = HashMap::new();
        for (key, value) in self.state.scan(tables::LOG_FILE_POSITIONS)? {
            let id = FileId::from_key(&key);
            let pos = serde_json::from_slice::<Position>(&value);
            match (id, pos) {
                (Some(id), Ok(pos)) => {
                    out.insert(id, pos);
                }
                (_, Err(e)) => {
                    tracing::warn!(key, error = %e, "cannot read a log file position; ignoring it")
                }
                (None, _) => tracing::warn!(key, "a log file position has a malformed key; ignoring it"),
            }
        }
        Ok(out)
    }

    /// Writes and forgets positions in one durable transaction. Blocking.
    pub fn save(&self, put: &[(FileId, Position)], forget: &[FileId]) -> Result<(), StateError> {
        if put.is_empty() && forget.is_empty() {
            return Ok(());
        }
        let mut ops = Vec::with_capacity(put.len() + forget.len());
        for (id, pos) in put {
            // A struct of a string and a number always serializes.
            let value = serde_json::to_vec(pos).unwrap_or_default();
            ops.push(WriteOp::put(tables::LOG_FILE_POSITIONS, id.key(), value));
        }
        for id in forget {
            ops.push(WriteOp::delete(tables::LOG_FILE_POSITIONS, id.key()));
        }
        self.state.write(&ops)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_survive_reopening_and_can_be_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let a = FileId { dev: 1, ino: 2 };
        let b = FileId { dev: 1, ino: 3 };
        {
            let p = Positions::new(StateStore::open(dir.path()).unwrap());
            let pos = |offset| Position {
                path: "/var/log/a.log".into(),
                offset,
                pending: None,
            };
            p.save(&[(a, pos(10)), (b, pos(20))], &[]).unwrap();
            p.save(&[(a, pos(15))], &[b]).unwrap();
        }
        let p = Positions::new(StateStore::open(dir.path()).unwrap());
        let loaded = p.load().unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[&a].offset, 15);
    }

    #[test]
    fn a_bad_row_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(dir.path()).unwrap();
        s.write(&[
            WriteOp::put(tables::LOG_FILE_POSITIONS, "1:2", b"not json".to_vec()),
            WriteOp::put(
                tables::LOG_FILE_POSITIONS,
                "x",
                b"{\"path\":\"a\",\"offset\":1}".to_vec(),
            ),
            WriteOp::put(
                tables::LOG_FILE_POSITIONS,
                "1:3",
                b"{\"path\":\"a\",\"offset\":7}".to_vec(),
            ),
        ])
        .unwrap();
        let loaded = Positions::new(s).load().unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[&FileId { dev: 1, ino: 3 }].offset, 7);
    }
}
