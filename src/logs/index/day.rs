//! One UTC day's index: a tantivy index in `index/YYYY-MM-DD/` beside a
//! meta file naming Belfry's index format version, its reader, and its
//! writer while the day is being written. Each commit's payload records
//! the sequence number up to which the day holds every record, so replay
//! skips what is already indexed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, NaiveDate};
use parking_lot::Mutex;
use tantivy::directory::MmapDirectory;
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy};

use super::fields::LogFields;
use crate::logs::LogsError;

/// Bumped when the schema or the meta file changes. New days are created
/// in this format; days of an older one stay readable as they are
/// ([`LogFields::of_format`]).
pub const INDEX_FORMAT_VERSION: u32 = 3;
pub const META_FILE: &str = "belfry-logs-index.json";
const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;
/// Per writer; tantivy's minimum is 15 MB per indexing thread.
const WRITER_MEMORY: usize = 32 << 20;
/// Larger doc-store blocks compress log lines much better (many similar
/// lines per block) at little cost when reading a page of results, whose
/// lines are mostly neighbours in time and so in the same block.
const DOCSTORE_BLOCK: usize = 256 << 10;
/// zstd's level 6 (its lazy matcher, where 3 is greedy) keeps the doc
/// store in 14 % fewer bytes than level 3 on LMS lines; measured in
/// `benches/RESULTS.md` with its CPU cost. Level 7 in 1 MiB blocks saves
/// 4 % more for larger blocks to read per line.
const DOCSTORE_ZSTD_LEVEL: i32 = 6;
/// Decompressed doc-store blocks a reader keeps per segment: with the
/// large blocks tantivy's default of 100 could hold 25 MiB per segment.
const DOCSTORE_CACHE_BLOCKS: usize = 4;

/// Days since the Unix epoch of a timestamp, UTC.
pub fn day_of(ts_ns: i64) -> i64 {
    ts_ns.div_euclid(NS_PER_DAY)
}

pub fn day_start_ns(day: i64) -> i64 {
    day.saturating_mul(NS_PER_DAY)
}

pub fn day_name(day: i64) -> String {
    DateTime::from_timestamp(day.saturating_mul(86_400), 0)
        .map(|t| t.date_naive().format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| format!("day{day}"))
}

pub fn parse_day_name(name: &str) -> Option<i64> {
    let d = NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp().div_euclid(86_400))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    format_version: u32,
    day: String,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct CommitPayload {
    /// Every record of this day with a smaller sequence number is indexed.
    next_seq: u64,
}

pub struct DayIndex {
    pub day: i64,
    pub dir: PathBuf,
    pub index: Index,
    pub reader: IndexReader,
    writer: Mutex<Option<IndexWriter>>,
    next_seq: AtomicU64,
}

impl DayIndex {
    /// Opens the day's index, creating it when `create` is set.
    pub fn open(root: &Path, day: i64, fields: &LogFields, create: bool) -> Result<DayIndex, LogsError> {
        let dir = root.join(day_name(day));
        let meta_path = dir.join(META_FILE);
        let index = if meta_path.exists() {
            let text = std::fs::read_to_string(&meta_path).map_err(|e| LogsError::io(&meta_path, e))?;
            let meta: Meta = serde_json::from_str(&text).map_err(|e| LogsError::IndexFormat {
                path: meta_path.clone(),
                detail: format!("unreadable meta file: {e}"),
            })?;
            let Some(expected) = LogFields::of_format(meta.format_version) else {
                return Err(LogsError::IndexFormat {
                    path: dir,
                    detail: format!(
                        "index format version {} (this build reads 1 to {INDEX_FORMAT_VERSION})",
                        meta.format_version
                    ),
                });
            };
            let index = Index::open_in_dir(&dir)?;
            if index.schema() != expected.schema {
                return Err(LogsError::IndexFormat {
                    path: dir,
                    detail: "its schema differs from this build's".into(),
                });
            }
            index
        } else if create {
            std::fs::create_dir_all(&dir).map_err(|e| LogsError::io(&dir, e))?;
            let settings = IndexSettings {
                docstore_compression: Compressor::Zstd(ZstdCompressor {
                    compression_level: Some(DOCSTORE_ZSTD_LEVEL),
                }),
                docstore_blocksize: DOCSTORE_BLOCK,
                ..IndexSettings::default()
            };
            let directory = MmapDirectory::open(&dir).map_err(|e| LogsError::IndexFormat {
                path: dir.clone(),
                detail: e.to_string(),
            })?;
            let index = Index::create(directory, fields.schema.clone(), settings)?;
            // The meta file last: a directory without it is a creation
            // that did not finish, and is removed at open.
            let meta = Meta {
                format_version: INDEX_FORMAT_VERSION,
                day: day_name(day),
            };
            let tmp = dir.join(format!("{META_FILE}.tmp"));
            std::fs::write(&tmp, serde_json::to_vec(&meta).unwrap_or_default())
                .map_err(|e| LogsError::io(&tmp, e))?;
            std::fs::rename(&tmp, &meta_path).map_err(|e| LogsError::io(&meta_path, e))?;
            crate::logs::wal::sync_dir(&dir)?;
            index
        } else {
            return Err(LogsError::IndexFormat {
                path: dir,
                detail: format!("no {META_FILE}"),
            });
        };
        // Days of every format may name it; older ones do not use it.
        super::words::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .doc_store_cache_num_blocks(DOCSTORE_CACHE_BLOCKS)
            .try_into()?;
        let payload: CommitPayload = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default();
        Ok(DayIndex {
            day,
            dir,
            index,
            reader,
            writer: Mutex::new(None),
            next_seq: AtomicU64::new(payload.next_seq),
        })
    }

    /// Records of this day with a smaller sequence number are committed.
    pub fn committed_next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Acquire)
    }

    /// Runs `f` with the day's writer, opening one if needed.
    pub fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut IndexWriter) -> Result<T, LogsError>,
    ) -> Result<T, LogsError> {
        let mut slot = self.writer.lock();
        if slot.is_none() {
            let w: IndexWriter = self.index.writer_with_num_threads(1, WRITER_MEMORY)?;
            *slot = Some(w);
        }
        match slot.as_mut() {
            Some(w) => f(w),
            None => Err(LogsError::Closed),
        }
    }

    /// Commits what was added, recording `next_seq` in the commit, and
    /// makes it searchable.
    pub fn commit(&self, next_seq: u64) -> Result<(), LogsError> {
        let next_seq = next_seq.max(self.committed_next_seq());
        self.with_writer(|w| {
            let mut prepared = w.prepare_commit()?;
            prepared.set_payload(&serde_json::to_string(&CommitPayload { next_seq }).unwrap_or_default());
            prepared.commit()?;
            Ok(())
        })?;
        self.next_seq.store(next_seq, Ordering::Release);
        self.reader.reload()?;
        Ok(())
    }

    /// Merges every segment into one, dropping deleted documents' space.
    pub fn merge_all(&self) -> Result<(), LogsError> {
        let ids = self.index.searchable_segment_ids()?;
        self.with_writer(|w| {
            if ids.len() > 1 || self.has_deletes()? {
                w.merge(&ids).wait()?;
            }
            w.garbage_collect_files().wait()?;
            Ok(())
        })?;
        self.reader.reload()?;
        Ok(())
    }

    fn has_deletes(&self) -> Result<bool, LogsError> {
        Ok(self
            .index
            .searchable_segment_metas()?
            .iter()
            .any(|m| m.has_deletes()))
    }

    /// Closes the writer (after a commit) to free its memory; the next
    /// write opens one again. Merges still running finish first.
    pub fn close_writer(&self) {
        if let Some(w) = self.writer.lock().take()
            && let Err(e) = w.wait_merging_threads()
        {
            tracing::warn!(day = %day_name(self.day), error = %e, "logs index merge did not finish");
        }
    }

    pub fn has_writer(&self) -> bool {
        self.writer.lock().is_some()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes of the day's files on disk.
    pub fn disk_bytes(&self) -> u64 {
        dir_bytes(&self.dir)
    }
}

pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
