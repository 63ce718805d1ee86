//! Opening `chunks.redb`: refusing format versions this build does not
//! know before writing anything, creating the tables of a new file, and
//! loading every series row at startup.

use std::path::Path;
use std::sync::atomic::AtomicU64;

use parking_lot::RwLock;
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use crate::model::Labels;

use super::super::{LayoutError, RecordKey, StorageError};
use super::ChunkStore;
use super::layout::{
    self, CHUNKS, FORMAT_VERSION, META, META_FORMAT_VERSION, META_NEXT_SERIES_REF, SERIES, SERIES_RANGE,
};
use super::migrations;

/// redb's page cache. Its default (1 GiB) would let a long-running server's
/// memory grow far past the head's; the OS page cache still holds the file,
/// so a miss here costs a copy, not a disk read.
pub(super) const CACHE_BYTES: usize = 16 << 20;

/// A series row read at startup.
pub(crate) struct LoadedSeries {
    pub series_ref: u64,
    pub labels: Labels,
    pub range: Option<(i64, i64)>,
}

pub(crate) struct Loaded {
    pub next_ref: u64,
    pub series: Vec<LoadedSeries>,
    pub num_chunks: u64,
}

impl ChunkStore {
    /// Opens (creating if absent) the store, refusing unknown format versions
    /// before writing anything, and loads every series row.
    pub(crate) fn open(path: &Path) -> Result<(ChunkStore, Loaded), StorageError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StorageError::Database(format!(
                    "{} is already open (is another belfry running on this data directory?)",
                    path.display()
                )),
                other => StorageError::Database(format!("opening {}: {other}", path.display())),
            })?;
        let store = ChunkStore {
            db: RwLock::new(db),
            unused_after_reclaim: AtomicU64::new(0),
            path: path.to_path_buf(),
        };
        store.check_format()?;
        let loaded = store.load()?;
        Ok((store, loaded))
    }

    fn check_format(&self) -> Result<(), StorageError> {
        let version_key = RecordKey::Meta(META_FORMAT_VERSION);
        let read = self.db.read().begin_read()?;
        let found = match read.open_table(META) {
            Ok(meta) => match meta.get(META_FORMAT_VERSION)? {
                Some(v) => Some(layout::decode_format_version(v.value()).map_err(|e| e.at(version_key))?),
                None => None,
            },
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        drop(read);
        match found {
            Some(v) if v == FORMAT_VERSION => Ok(()),
            Some(v) if (1..FORMAT_VERSION).contains(&v) => migrations::upgrade(&self.db.read(), v),
            Some(v) if v > FORMAT_VERSION => Err(StorageError::UnsupportedFormat {
                path: self.path.clone(),
                found: v,
                supported: FORMAT_VERSION,
            }),
            Some(v) => Err(LayoutError::UnknownFormatVersion(v).at(version_key)),
            None => self.initialize(),
        }
    }

    /// A new file: create the tables and stamp the format version. A file
    /// that has series but no version is not ours to guess about.
    fn initialize(&self) -> Result<(), StorageError> {
        let txn = self.db.read().begin_write()?;
        {
            let series = txn.open_table(SERIES)?;
            if !series.is_empty()? {
                return Err(LayoutError::MissingFormatVersion.at(RecordKey::Meta(META_FORMAT_VERSION)));
            }
            txn.open_table(SERIES_RANGE)?;
            txn.open_table(CHUNKS)?;
            let mut meta = txn.open_table(META)?;
            meta.insert(META_FORMAT_VERSION, &FORMAT_VERSION.to_le_bytes()[..])?;
            meta.insert(META_NEXT_SERIES_REF, &0u64.to_le_bytes()[..])?;
        }
        txn.commit()?;
        Ok(())
    }

    fn load(&self) -> Result<Loaded, StorageError> {
        let read = self.db.read().begin_read()?;
        let meta = read.open_table(META)?;
        let next_ref = match meta.get(META_NEXT_SERIES_REF)? {
            Some(v) => layout::decode_next_series_ref(v.value())
                .map_err(|e| e.at(RecordKey::Meta(META_NEXT_SERIES_REF)))?,
            None => 0,
        };
        let ranges = read.open_table(SERIES_RANGE)?;
        let mut series = Vec::new();
        for entry in read.open_table(SERIES)?.iter()? {
            let (k, v) = entry?;
            let series_ref = k.value();
            let labels = layout::decode_labels(v.value()).map_err(|e| e.at(RecordKey::Series(series_ref)))?;
            let range = match ranges.get(series_ref)? {
                Some(r) => Some(
                    layout::decode_range(r.value()).map_err(|e| e.at(RecordKey::SeriesRange(series_ref)))?,
                ),
                None => None,
            };
            series.push(LoadedSeries {
                series_ref,
                labels,
                range,
            });
        }
        let num_chunks = read.open_table(CHUNKS)?.len()?;
        Ok(Loaded {
            next_ref,
            series,
            num_chunks,
        })
    }
}
