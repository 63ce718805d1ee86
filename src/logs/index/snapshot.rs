//! A day's index as it stands, taken while it is written (for backups).
//! Tantivy never changes a segment's files once written; a commit or a
//! finished merge writes a new `meta.json` naming the segments that count,
//! and its garbage collection deletes files no living segment meta names.
//! So the copy holds the metas it loaded (which keeps their files from
//! collection), links their files, and writes those metas as its own
//! `meta.json`: one commit's view, whatever commits or merges meanwhile.

use std::path::Path;

use tantivy::{Index, ReloadPolicy};

use super::day::{DayIndex, META_FILE, day_name};
use crate::logs::LogsError;
use crate::online_copy::{CopiedFile, link_or_copy};

/// Tantivy's names for the index's own files.
const TANTIVY_META: &str = "meta.json";
const TANTIVY_MANAGED: &str = ".managed.json";

/// A day copied by [`DayIndex::link_into`], to be checked once the
/// store's commits may run again.
pub struct DayCopy {
    pub files: Vec<CopiedFile>,
    dir: std::path::PathBuf,
    docs: u64,
}

impl DayIndex {
    /// Copies the day's committed index into `root/YYYY-MM-DD/`, paths
    /// relative to `root`. The caller keeps the store from committing
    /// meanwhile, so that the day's commit and the WAL taken with it agree.
    pub fn link_into(&self, root: &Path) -> Result<DayCopy, LogsError> {
        let name = day_name(self.day);
        let dir = root.join(&name);
        std::fs::create_dir_all(&dir).map_err(|e| LogsError::io(&dir, e))?;
        let metas = self.index.load_metas()?;
        let mut files = Vec::new();
        let mut meta = serde_json::to_vec_pretty(&metas).map_err(|e| LogsError::IndexFormat {
            path: self.dir.clone(),
            detail: format!("cannot write its segment list: {e}"),
        })?;
        meta.push(b'\n');
        files.push(write_file(&dir, &name, TANTIVY_META, &meta)?);
        let own_meta = std::fs::read(self.dir.join(META_FILE)).map_err(|e| LogsError::io(&self.dir, e))?;
        files.push(write_file(&dir, &name, META_FILE, &own_meta)?);
        let mut managed = vec![TANTIVY_META.to_string()];
        for file in metas.list_segment_files() {
            let from = self.dir.join(&file);
            let len = match std::fs::metadata(&from) {
                Ok(m) => m.len(),
                // A component this segment has no file for (tantivy lists
                // candidates); a missing file that counts fails the check.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(LogsError::io(&from, e)),
            };
            link_or_copy(&from, &dir.join(&file)).map_err(|e| LogsError::io(&from, e))?;
            managed.push(file.display().to_string());
            files.push(CopiedFile {
                path: Path::new(&name).join(&file),
                len,
            });
        }
        // Tantivy collects only files it knows it made: listing them lets
        // the restored index delete them once merged away.
        let managed = serde_json::to_vec(&managed).unwrap_or_default();
        files.push(write_file(&dir, &name, TANTIVY_MANAGED, &managed)?);
        let docs = metas.segments.iter().map(|s| u64::from(s.num_docs())).sum();
        Ok(DayCopy { files, dir, docs })
    }
}

fn write_file(dir: &Path, day: &str, file: &str, bytes: &[u8]) -> Result<CopiedFile, LogsError> {
    let path = dir.join(file);
    std::fs::write(&path, bytes).map_err(|e| LogsError::io(&path, e))?;
    Ok(CopiedFile {
        path: Path::new(day).join(file),
        len: bytes.len() as u64,
    })
}

impl DayCopy {
    /// Opens the copy as an index and checks it holds the documents its
    /// metas count: every file a segment needs is there.
    pub fn check(&self) -> Result<(), LogsError> {
        let index = Index::open_in_dir(&self.dir)?;
        super::words::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let found = reader.searcher().num_docs();
        if found != self.docs {
            return Err(LogsError::IndexFormat {
                path: self.dir.clone(),
                detail: format!(
                    "the copy holds {found} documents where its segments count {}",
                    self.docs
                ),
            });
        }
        Ok(())
    }
}
