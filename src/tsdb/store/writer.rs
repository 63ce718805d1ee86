//! The tables of one write transaction, with typed helpers: series rows,
//! their time ranges, chunks and the next series ref.

use redb::{ReadableTable, WriteTransaction};

use crate::model::Labels;

use super::super::chunk::{ChunkKind, chunk_kind};
use super::super::{RecordKey, StorageError};
use super::layout::{self, CHUNKS, ChunkHeader, ChunkKey, META, META_NEXT_SERIES_REF, SERIES, SERIES_RANGE};

/// A chunk read back from the store.
pub(crate) struct StoredChunk {
    pub min_t: i64,
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
            let (_, bytes) = layout::decode_chunk_value(v.value())
                .map_err(|e| e.at(RecordKey::Chunk { series_ref, min_t }))?;
            out.push(StoredChunk {
                min_t,
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
                .map_err(|e| e.at(RecordKey::Chunk { series_ref, min_t }))?;
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
                .map_err(|e| e.at(RecordKey::Chunk { series_ref, min_t }))?;
            out.push((min_t, header, value.len()));
        }
        Ok(out)
    }
}
