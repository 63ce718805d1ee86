//! Persisted chunks: the redb file `chunks.redb` ([`layout`] has its byte
//! format), opening it with a format-version guard, loading the series at
//! startup, a typed writer used inside one write transaction, and giving
//! freed pages back to the file system once enough of the file is free.

pub mod layout;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use redb::{
    CompactionError, Database, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    WriteTransaction,
};

use crate::model::Labels;

use super::StorageError;
use super::chunk::{ChunkKind, chunk_kind};
use layout::{
    CHUNKS, ChunkHeader, ChunkKey, FORMAT_VERSION, META, META_FORMAT_VERSION, META_NEXT_SERIES_REF, SERIES,
    SERIES_RANGE,
};

/// redb's page cache. Its default (1 GiB) would let a long-running server's
/// memory grow far past the head's; the OS page cache still holds the file,
/// so a miss here costs a copy, not a disk read.
const CACHE_BYTES: usize = 16 << 20;

/// Reclaim space only when at least this share of the file is free pages:
/// rewriting the file for a few freed pages costs more than it saves.
const RECLAIM_MIN_FREE_FRACTION: f64 = 0.25;
/// ... and at least this many bytes (small files are not worth it).
const RECLAIM_MIN_FREE_BYTES: u64 = 4 << 20;

pub(crate) struct ChunkStore {
    /// Transactions are not bound to the `Database`, so every user takes
    /// this shared only to begin one; [`ChunkStore::reclaim_space`] takes
    /// it exclusively, because redb's `compact` needs `&mut Database`.
    db: RwLock<Database>,
    path: PathBuf,
    /// [`Self::unused_bytes`] right after the last reclaim (0 before one).
    unused_after_reclaim: AtomicU64,
}

/// What [`ChunkStore::reclaim_space`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reclaim {
    /// Too little free space to be worth rewriting the file.
    NotNeeded,
    /// A reader or writer was active; try again on the next pass.
    Busy,
    /// The file shrank from `before` to `after` bytes.
    Done { before: u64, after: u64 },
}

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

fn corrupt(what: &str, detail: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        what: what.to_string(),
        detail: detail.into(),
    }
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
        let read = self.db.read().begin_read()?;
        let found = match read.open_table(META) {
            Ok(meta) => match meta.get(META_FORMAT_VERSION)? {
                Some(v) => Some(
                    <[u8; 4]>::try_from(v.value())
                        .map(u32::from_le_bytes)
                        .map_err(|_| corrupt("meta table", "format_version is not 4 bytes"))?,
                ),
                None => None,
            },
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        };
        drop(read);
        match found {
            Some(v) if v == FORMAT_VERSION => Ok(()),
            Some(v) if v > FORMAT_VERSION => Err(StorageError::UnsupportedFormat {
                path: self.path.clone(),
                found: v,
                supported: FORMAT_VERSION,
            }),
            Some(v) => Err(corrupt("meta table", format!("unknown format version {v}"))),
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
                return Err(corrupt(
                    "meta table",
                    "series exist but format_version is missing",
                ));
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
            Some(v) => <[u8; 8]>::try_from(v.value())
                .map(u64::from_le_bytes)
                .map_err(|_| corrupt("meta table", "next_series_ref is not 8 bytes"))?,
            None => 0,
        };
        let ranges = read.open_table(SERIES_RANGE)?;
        let mut series = Vec::new();
        for entry in read.open_table(SERIES)?.iter()? {
            let (k, v) = entry?;
            let series_ref = k.value();
            let labels = layout::decode_labels(v.value())
                .map_err(|d| corrupt("series table", format!("series {series_ref}: {d}")))?;
            let range = match ranges.get(series_ref)? {
                Some(r) => Some(
                    layout::decode_range(r.value())
                        .map_err(|d| corrupt("series_range table", format!("series {series_ref}: {d}")))?,
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

    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, StorageError> {
        Ok(self.db.read().begin_write()?)
    }

    pub(crate) fn begin_read(&self) -> Result<ReadTransaction, StorageError> {
        Ok(self.db.read().begin_read()?)
    }

    /// Bytes of the file holding no live data (free and partly filled pages).
    fn unused_bytes(&self) -> Result<u64, StorageError> {
        let txn = self.begin_write()?;
        let stats = txn.stats()?;
        txn.abort()?;
        Ok(stats.fragmented_bytes())
    }

    pub(crate) fn file_size(&self) -> u64 {
        std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0)
    }

    /// Moves live pages to the front of the file and truncates it, when
    /// deletions (compaction, retention) left enough of it free. redb keeps
    /// freed pages for reuse otherwise, so the file never shrinks. Callers
    /// hold the maintenance lock, so no write of ours is in flight; a query
    /// still reading makes this return [`Reclaim::Busy`].
    pub(crate) fn reclaim_space(&self) -> Result<Reclaim, StorageError> {
        let before = self.file_size();
        // redb counts free pages and half-filled pages alike as
        // "fragmented"; the part a rewrite cannot remove is what was left
        // right after the previous one.
        let unused = self.unused_bytes()?;
        let floor = self.unused_after_reclaim.load(Ordering::Relaxed);
        let free = unused.saturating_sub(floor);
        if free < RECLAIM_MIN_FREE_BYTES || (free as f64) < before as f64 * RECLAIM_MIN_FREE_FRACTION {
            return Ok(Reclaim::NotNeeded);
        }
        let mut db = self.db.write();
        match db.compact() {
            Ok(_) => {}
            Err(CompactionError::TransactionInProgress) => return Ok(Reclaim::Busy),
            Err(e) => {
                return Err(StorageError::Database(format!(
                    "compacting {}: {e}",
                    self.path.display()
                )));
            }
        }
        drop(db);
        self.unused_after_reclaim
            .store(self.unused_bytes()?, Ordering::Relaxed);
        Ok(Reclaim::Done {
            before,
            after: self.file_size(),
        })
    }
}

/// A chunk read back from the store.
pub(crate) struct StoredChunk {
    pub min_t: i64,
    pub header: ChunkHeader,
    pub bytes: Vec<u8>,
}

/// The tables of one write transaction, with typed helpers.
pub(crate) struct StoreWriter<'t> {
    series: redb::Table<'t, u64, &'static [u8]>,
    ranges: redb::Table<'t, u64, &'static [u8]>,
    chunks: redb::Table<'t, &'static ChunkKey, &'static [u8]>,
    meta: redb::Table<'t, &'static str, &'static [u8]>,
}

impl<'t> StoreWriter<'t> {
    pub(crate) fn new(txn: &'t WriteTransaction) -> Result<Self, StorageError> {
        Ok(StoreWriter {
            series: txn.open_table(SERIES)?,
            ranges: txn.open_table(SERIES_RANGE)?,
            chunks: txn.open_table(CHUNKS)?,
            meta: txn.open_table(META)?,
        })
    }

    pub(crate) fn put_series(&mut self, series_ref: u64, labels: &Labels) -> Result<(), StorageError> {
        self.series
            .insert(series_ref, layout::encode_labels(labels).as_slice())?;
        Ok(())
    }

    pub(crate) fn delete_series(&mut self, series_ref: u64) -> Result<(), StorageError> {
        self.series.remove(series_ref)?;
        self.ranges.remove(series_ref)?;
        Ok(())
    }

    pub(crate) fn put_range(
        &mut self,
        series_ref: u64,
        range: Option<(i64, i64)>,
    ) -> Result<(), StorageError> {
        match range {
            Some((lo, hi)) => {
                self.ranges
                    .insert(series_ref, &layout::encode_range(lo, hi)[..])?;
            }
            None => {
                self.ranges.remove(series_ref)?;
            }
        }
        Ok(())
    }

    pub(crate) fn set_next_ref(&mut self, next_ref: u64) -> Result<(), StorageError> {
        self.meta
            .insert(META_NEXT_SERIES_REF, &next_ref.to_le_bytes()[..])?;
        Ok(())
    }

    pub(crate) fn put_chunk(
        &mut self,
        series_ref: u64,
        min_t: i64,
        header: ChunkHeader,
        chunk: &[u8],
    ) -> Result<(), StorageError> {
        let key = layout::chunk_key(series_ref, min_t);
        self.chunks
            .insert(&key, layout::encode_chunk_value(header, chunk).as_slice())?;
        Ok(())
    }

    pub(crate) fn remove_chunk(&mut self, series_ref: u64, min_t: i64) -> Result<(), StorageError> {
        self.chunks.remove(&layout::chunk_key(series_ref, min_t))?;
        Ok(())
    }

    /// Chunks of a series whose start lies in `[from, to]`, oldest first.
    pub(crate) fn chunks_starting_in(
        &self,
        series_ref: u64,
        from: i64,
        to: i64,
    ) -> Result<Vec<StoredChunk>, StorageError> {
        let lo = layout::chunk_key(series_ref, from);
        let hi = layout::chunk_key(series_ref, to);
        let mut out = Vec::new();
        for entry in self.chunks.range::<&ChunkKey>(&lo..=&hi)? {
            let (k, v) = entry?;
            let (_, min_t) = layout::decode_chunk_key(k.value());
            let (header, bytes) = layout::decode_chunk_value(v.value())
                .map_err(|d| corrupt("chunks table", format!("series {series_ref} at {min_t}: {d}")))?;
            out.push(StoredChunk {
                min_t,
                header,
                bytes: bytes.to_vec(),
            });
        }
        Ok(out)
    }

    /// Like [`Self::chunk_headers`], with each chunk's kind from its tag.
    pub(crate) fn chunk_headers_with_kind(
        &self,
        series_ref: u64,
    ) -> Result<Vec<(i64, ChunkHeader, Option<ChunkKind>)>, StorageError> {
        let lo = layout::chunk_key(series_ref, i64::MIN);
        let hi = layout::chunk_key(series_ref, i64::MAX);
        let mut out = Vec::new();
        for entry in self.chunks.range::<&ChunkKey>(&lo..=&hi)? {
            let (k, v) = entry?;
            let (_, min_t) = layout::decode_chunk_key(k.value());
            let (header, bytes) = layout::decode_chunk_value(v.value())
                .map_err(|d| corrupt("chunks table", format!("series {series_ref} at {min_t}: {d}")))?;
            out.push((min_t, header, chunk_kind(bytes).ok()));
        }
        Ok(out)
    }

    /// Chunk headers of a series (no chunk bytes copied), oldest first.
    pub(crate) fn chunk_headers(
        &self,
        series_ref: u64,
    ) -> Result<Vec<(i64, ChunkHeader, usize)>, StorageError> {
        let lo = layout::chunk_key(series_ref, i64::MIN);
        let hi = layout::chunk_key(series_ref, i64::MAX);
        let mut out = Vec::new();
        for entry in self.chunks.range::<&ChunkKey>(&lo..=&hi)? {
            let (k, v) = entry?;
            let (_, min_t) = layout::decode_chunk_key(k.value());
            let value = v.value();
            let (header, _) = layout::decode_chunk_value(value)
                .map_err(|d| corrupt("chunks table", format!("series {series_ref} at {min_t}: {d}")))?;
            out.push((min_t, header, value.len()));
        }
        Ok(out)
    }
}
