//! Upgrade steps of the metrics store's format, applied when it opens,
//! before the WAL is replayed or written (`migrations/README.md` lists
//! them). `STEPS[i]` takes a store from version `i + 1` to `i + 2`, in the
//! same redb transaction that stamps the new version, so a crash leaves
//! the old version or the new one.

use super::layout::{FORMAT_VERSION, META, META_FORMAT_VERSION};
use crate::tsdb::StorageError;

type Step = fn(&redb::WriteTransaction) -> Result<(), StorageError>;

const STEPS: &[Step] = &[wal_records_of_version_2];

/// 1 → 2: the WAL's series and sample records became types 3 and 4
/// (labels spelled against the previous series, values XOR'd against the
/// ref's previous value in the same file). Version 2 still reads types 1
/// and 2, so a version-1 WAL replays as it is and nothing in `chunks.redb`
/// changes; the stamp is what keeps a version-1 build, which cannot read
/// the new records, from opening the directory and dropping them.
fn wal_records_of_version_2(_: &redb::WriteTransaction) -> Result<(), StorageError> {
    Ok(())
}

/// Brings a store stamped `from` up to [`FORMAT_VERSION`].
pub(super) fn upgrade(db: &redb::Database, from: u32) -> Result<(), StorageError> {
    for v in from..FORMAT_VERSION {
        let Some(step) = STEPS.get(v as usize - 1) else {
            unreachable!("every version below FORMAT_VERSION has a step");
        };
        let txn = db.begin_write()?;
        step(&txn)?;
        txn.open_table(META)?
            .insert(META_FORMAT_VERSION, &(v + 1).to_le_bytes()[..])?;
        txn.commit()?;
        tracing::info!(from = v, to = v + 1, "metrics store format upgraded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_below_the_current_one_has_a_step() {
        assert_eq!(STEPS.len() as u32, FORMAT_VERSION - 1);
    }
}
