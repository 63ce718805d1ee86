//! The log as it stands, taken while it is written (for backups): the
//! newest checkpoint and every segment after it, by hard link, with the
//! current segment's length at that moment. Appends never stop; only a
//! checkpoint waits, since it would write a new checkpoint and delete
//! segments while they are listed and linked.

use std::path::Path;

use super::WalError;
use super::segment::{checkpoint_name, list_dir, segment_name};
use super::writer::Wal;
use crate::online_copy::{CopiedFile, link_or_copy};

impl Wal {
    /// Links the newest checkpoint's files and the segments after it into
    /// `dest` (created; on the same file system, else they are copied).
    /// Every record written before this call is in the files returned;
    /// the current segment's length is what was written then, so a copy
    /// that reads that many bytes ends on a whole record. Paths are
    /// relative to `dest`.
    pub fn link_into(&self, dest: &Path) -> Result<Vec<CopiedFile>, WalError> {
        let shared = &self.shared;
        let _no_checkpoint = shared.checkpoint_lock.lock();
        // A record is written whole under the writer's lock, and `size`
        // counts only records written whole.
        let (writing, written) = {
            let w = shared.writer.lock();
            (w.segment, w.size)
        };
        let listing = list_dir(&shared.dir)?;
        std::fs::create_dir_all(dest).map_err(|e| WalError::io(dest, e))?;
        let mut files = Vec::new();
        let mut take = |from: &Path, to: &Path, len: Option<u64>| -> Result<(), WalError> {
            let len = match len {
                Some(n) => n,
                None => std::fs::metadata(from).map_err(|e| WalError::io(from, e))?.len(),
            };
            link_or_copy(from, &dest.join(to)).map_err(|e| WalError::io(from, e))?;
            files.push(CopiedFile {
                path: to.to_path_buf(),
                len,
            });
            Ok(())
        };
        let covered = listing.checkpoints.last().map(|(n, _)| *n);
        if let Some((n, dir)) = listing.checkpoints.last() {
            let name = checkpoint_name(*n);
            let to = dest.join(&name);
            std::fs::create_dir(&to).map_err(|e| WalError::io(&to, e))?;
            for (_, path) in list_dir(dir)?.segments {
                let file = path.file_name().map(|f| Path::new(&name).join(f));
                if let Some(file) = file {
                    take(&path, &file, None)?;
                }
            }
        }
        for (n, path) in &listing.segments {
            // Segments a checkpoint covers are leftovers that open removes;
            // one started after the position was read holds nothing of
            // the copy.
            if covered.is_some_and(|cp| *n <= cp) || *n > writing {
                continue;
            }
            let len = (*n == writing).then_some(written);
            take(path, Path::new(&segment_name(*n)), len)?;
        }
        Ok(files)
    }
}
