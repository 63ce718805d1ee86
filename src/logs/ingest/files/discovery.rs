//! Finding the files to tail: each glob of `paths` expanded, minus what
//! `exclude` matches, and each file known by its device and inode — the
//! identity that survives a rename, so a rotated file is recognised under
//! its new name and a new file under the old name is a new file.

use std::collections::HashSet;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

/// A file's identity: device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &Metadata) -> Self {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// The key of its position in `state.redb`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.dev, self.ino)
    }

    pub fn from_key(key: &str) -> Option<Self> {
        let (dev, ino) = key.split_once(':')?;
        Some(FileId {
            dev: dev.parse().ok()?,
            ino: ino.parse().ok()?,
        })
    }
}

/// A regular file a glob matched.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub path: PathBuf,
    pub id: FileId,
    pub size: u64,
}

/// The globs of one `logs.files` entry, parsed once.
pub struct Discovery {
    include: Vec<String>,
    exclude: Vec<glob::Pattern>,
}

impl Discovery {
    /// From validated globs; a bad one is an error naming it.
    pub fn new(paths: &[String], exclude: &[String]) -> Result<Self, String> {
        for p in paths {
            glob::Pattern::new(p).map_err(|e| format!("{p:?} is not a valid glob: {e}"))?;
        }
        let exclude = exclude
            .iter()
            .map(|p| glob::Pattern::new(p).map_err(|e| format!("{p:?} is not a valid glob: {e}")))
            .collect::<Result<_, _>>()?;
        Ok(Discovery {
            include: paths.to_vec(),
            exclude,
        })
    }

    /// The matching regular files (symlinks followed), each identity once,
    /// in path order; and the paths that could not be read, with why.
    pub fn scan(&self) -> (Vec<Found>, Vec<(PathBuf, std::io::Error)>) {
        let mut found = Vec::new();
        let mut errors = Vec::new();
        let mut seen = HashSet::new();
        for pattern in &self.include {
            // Validated in `new`.
            let Ok(paths) = glob::glob(pattern) else {
                continue;
            };
            for entry in paths {
                let path = match entry {
                    Ok(p) => p,
                    Err(e) => {
                        let path = e.path().to_path_buf();
                        errors.push((path, e.into()));
                        continue;
                    }
                };
                if self.exclude.iter().any(|x| x.matches_path(&path)) {
                    continue;
                }
                match std::fs::metadata(&path) {
                    Ok(meta) if meta.is_file() => {
                        let id = FileId::of(&meta);
                        if seen.insert(id) {
                            found.push(Found {
                                path,
                                id,
                                size: meta.len(),
                            });
                        }
                    }
                    Ok(_) => {}
                    // Deleted between the listing and the stat: gone, not broken.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => errors.push((path, e)),
                }
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        (found, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_excludes_and_identities() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("api.log"), "a\n").unwrap();
        std::fs::write(d.join("worker.log"), "b\n").unwrap();
        std::fs::write(d.join("old.log"), "c\n").unwrap();
        std::fs::write(d.join("api.log.1"), "d\n").unwrap();
        std::fs::create_dir(d.join("dir.log")).unwrap();
        std::os::unix::fs::symlink(d.join("api.log"), d.join("link.log")).unwrap();
        let all = format!("{}/*.log", d.display());
        let disc = Discovery::new(&[all.clone(), all], &[format!("{}/old.*", d.display())]).unwrap();
        let (found, errors) = disc.scan();
        assert!(errors.is_empty(), "{errors:?}");
        let names: Vec<String> = found
            .iter()
            .map(|f| f.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        // The symlink is the same file as api.log: tailed once.
        assert_eq!(names, ["api.log", "worker.log"]);
        assert_eq!(found[0].size, 2);
        let id = found[0].id;
        assert_eq!(FileId::from_key(&id.key()), Some(id));

        std::fs::rename(d.join("api.log"), d.join("api.log.2")).unwrap();
        std::fs::write(d.join("api.log"), "new\n").unwrap();
        let (found, _) = disc.scan();
        assert_ne!(found[0].id, id, "a new file under the old name is a new file");
        assert!(Discovery::new(&["/a/[".into()], &[]).is_err());
    }
}
