//! Copying redb tables from a read transaction into a fresh database file:
//! how both redb stores (`chunks.redb`, `state.redb`) are copied while the
//! server writes them. A read transaction sees one commit for as long as
//! it lives and never blocks writers, so the copy is that commit's content
//! whatever commits meanwhile; copying the file's bytes instead could
//! catch a commit half written. The new file is closed cleanly, so the
//! server that opens it later has nothing to repair.

use redb::{Database, Durability, Key, ReadTransaction, ReadableTable, TableDefinition, TableError, Value};

/// Rows are committed to the new file in batches of about this many bytes,
/// so a large table never sits in one transaction's memory. Every batch
/// but the last is committed without an fsync ([`finish`] syncs once).
const BATCH_BYTES: usize = 32 << 20;

/// Copies `table` as `source` sees it into the same table of `dest`
/// (created there, empty when the source has no such table). Returns the
/// rows and the key and value bytes copied.
pub fn copy_table<K: Key + 'static, V: Value + 'static>(
    source: &ReadTransaction,
    dest: &Database,
    table: TableDefinition<K, V>,
) -> Result<(u64, u64), redb::Error> {
    let from = match source.open_table(table) {
        Ok(t) => Some(t),
        Err(TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut rows = match &from {
        Some(t) => Some(t.iter()?),
        None => None,
    };
    let (mut copied, mut bytes) = (0u64, 0u64);
    loop {
        let mut txn = dest.begin_write()?;
        txn.set_durability(Durability::None)?;
        let mut batch = 0usize;
        let mut more = false;
        {
            let mut to = txn.open_table(table)?;
            if let Some(rows) = rows.as_mut() {
                for row in rows.by_ref() {
                    let (k, v) = row?;
                    let (key, value) = (k.value(), v.value());
                    batch += K::as_bytes(&key).as_ref().len() + V::as_bytes(&value).as_ref().len();
                    to.insert(key, value)?;
                    copied += 1;
                    if batch >= BATCH_BYTES {
                        more = true;
                        break;
                    }
                }
            }
        }
        txn.commit()?;
        bytes += batch as u64;
        if !more {
            return Ok((copied, bytes));
        }
    }
}

/// Makes every batch copied into `dest` durable (one fsync for them all).
pub fn finish(dest: &Database) -> Result<(), redb::Error> {
    let mut txn = dest.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    txn.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use redb::{ReadableDatabase, ReadableTableMetadata};

    const NUMBERS: TableDefinition<u64, &[u8]> = TableDefinition::new("numbers");
    const NAMES: TableDefinition<&str, u64> = TableDefinition::new("names");

    #[test]
    fn copies_what_the_read_transaction_sees_and_not_later_commits() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("a.redb")).unwrap();
        let big = vec![7u8; 1 << 20];
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(NUMBERS).unwrap();
            // Past one batch, so the copy commits more than once.
            for i in 0..40u64 {
                t.insert(i, big.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();

        let snapshot = db.begin_read().unwrap();
        let later = db.begin_write().unwrap();
        {
            let mut t = later.open_table(NUMBERS).unwrap();
            t.insert(1000, b"after".as_slice()).unwrap();
            t.remove(0).unwrap();
        }
        later.commit().unwrap();

        let copy = Database::create(dir.path().join("b.redb")).unwrap();
        let (rows, bytes) = copy_table(&snapshot, &copy, NUMBERS).unwrap();
        assert_eq!(rows, 40);
        assert_eq!(bytes, 40 * (8 + (1 << 20)));
        assert_eq!(copy_table(&snapshot, &copy, NAMES).unwrap(), (0, 0));
        finish(&copy).unwrap();
        drop(copy);

        let copy = Database::create(dir.path().join("b.redb")).unwrap();
        let read = copy.begin_read().unwrap();
        let t = read.open_table(NUMBERS).unwrap();
        assert_eq!(t.len().unwrap(), 40);
        assert_eq!(t.get(0).unwrap().unwrap().value(), big.as_slice());
        assert!(t.get(1000).unwrap().is_none());
        assert_eq!(read.open_table(NAMES).unwrap().len().unwrap(), 0);
    }
}
