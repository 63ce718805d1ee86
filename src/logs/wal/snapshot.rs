//! The logs WAL as it stands, taken while it is written (for backups):
//! every segment by hard link, the current one with its length at that
//! moment. Writers never wait.

use std::path::Path;

use super::log::LogWal;
use super::segment;
use crate::logs::LogsError;
use crate::online_copy::{CopiedFile, link_or_copy};

impl LogWal {
    /// Links every segment into `dest` (created), paths relative to it.
    /// Every record written before this call is in them; the current
    /// segment's length is what was written then. The caller keeps
    /// segments from being deleted meanwhile (the store's commit lock,
    /// under which alone committed segments are dropped).
    pub fn link_into(&self, dest: &Path) -> Result<Vec<CopiedFile>, LogsError> {
        let (dir, writing, written) = self.write_position();
        std::fs::create_dir_all(dest).map_err(|e| LogsError::io(dest, e))?;
        let mut files = Vec::new();
        // A segment started after the position was read holds nothing of
        // the copy.
        for n in segment::list(dir)?.into_iter().filter(|n| *n <= writing) {
            let from = segment::segment_path(dir, n);
            let len = if n == writing {
                written
            } else {
                std::fs::metadata(&from)
                    .map_err(|e| LogsError::io(&from, e))?
                    .len()
            };
            let name = from.file_name().map(Path::new).unwrap_or(Path::new(""));
            link_or_copy(&from, &dest.join(name)).map_err(|e| LogsError::io(&from, e))?;
            files.push(CopiedFile {
                path: name.to_path_buf(),
                len,
            });
        }
        Ok(files)
    }
}
