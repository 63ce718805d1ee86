//! Writing a backup's archive into a directory (`belfry backup DIR`, the
//! client side): only into a new or empty directory, only regular files
//! under relative paths, and only kept when every file matches the
//! manifest that ends the archive. A failed unpack removes what it wrote.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use super::BackupError;
use super::manifest::{MANIFEST_FILE, MANIFEST_FORMAT, Manifest};

/// A manifest larger than this is not one (a million files' worth).
const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// Refuses a path that exists and is not an empty directory.
pub fn check_empty_target(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(BackupError::TargetNotEmpty(dir.to_path_buf())),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            Err(BackupError::TargetNotEmpty(dir.to_path_buf()))
        }
        Err(e) => Err(BackupError::io(dir, e)),
    }
}

/// Unpacks `archive` into `dir` (created when missing; must be empty),
/// checks every file against the manifest, writes the manifest beside
/// them and syncs it all to disk. On any failure `dir` is left as found.
pub fn unpack(archive: impl Read, dir: &Path) -> Result<Manifest, BackupError> {
    check_empty_target(dir)?;
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(|e| BackupError::io(dir, e))?;
    let result = unpack_into(archive, dir);
    if result.is_err() {
        remove_written(dir, created);
    }
    result
}

fn unpack_into(archive: impl Read, dir: &Path) -> Result<Manifest, BackupError> {
    let mut archive = tar::Archive::new(archive);
    let mut written: BTreeMap<String, (u64, u32)> = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut manifest: Option<Manifest> = None;
    let damaged = |e: io::Error| BackupError::Damaged(e.to_string());
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let name = entry_name(&entry)?;
        if manifest.is_some() {
            return Err(BackupError::Damaged(format!("{name} follows the manifest")));
        }
        if name == MANIFEST_FILE {
            if entry.size() > MAX_MANIFEST_BYTES {
                return Err(BackupError::Damaged(format!(
                    "a manifest of {} bytes",
                    entry.size()
                )));
            }
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(damaged)?;
            let parsed: Manifest = serde_json::from_slice(&text)
                .map_err(|e| BackupError::Damaged(format!("its manifest does not parse: {e}")))?;
            manifest = Some(parsed);
            continue;
        }
        if written.contains_key(&name) {
            return Err(BackupError::Damaged(format!("{name} appears twice")));
        }
        let path = dir.join(&name);
        if let Some(parent) = path.parent()
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(|e| BackupError::io(parent, e))?;
            let mut d = parent;
            while d != dir && !dirs.iter().any(|known| known == d) {
                dirs.push(d.to_path_buf());
                match d.parent() {
                    Some(p) => d = p,
                    None => break,
                }
            }
        }
        let summed = write_file(&mut entry, &path)?;
        written.insert(name, summed);
    }
    let manifest = manifest.ok_or_else(|| {
        BackupError::Damaged(
            "it ends before its manifest: the server stopped sending it (its log says why)".to_string(),
        )
    })?;
    check_against(&manifest, &written)?;
    let manifest_path = dir.join(MANIFEST_FILE);
    let mut json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Damaged(e.to_string()))?;
    json.push(b'\n');
    write_file(&mut json.as_slice(), &manifest_path)?;
    // Deepest first, so each directory's entries are durable before its
    // parent's entry for it.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in &dirs {
        File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| BackupError::io(d, e))?;
    }
    Ok(manifest)
}

/// The entry's path, refused unless it is a regular file under a
/// relative path that stays inside the directory.
fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, BackupError> {
    let path = entry
        .path()
        .map_err(|e| BackupError::Damaged(format!("an entry's path: {e}")))?;
    let shown = path.display().to_string();
    if entry.header().entry_type() != tar::EntryType::Regular {
        return Err(BackupError::Damaged(format!("{shown} is not a regular file")));
    }
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {
                return Err(BackupError::Damaged(format!(
                    "{shown} is not a plain relative path"
                )));
            }
        }
    }
    if parts.is_empty() {
        return Err(BackupError::Damaged("an entry without a name".to_string()));
    }
    Ok(parts.join("/"))
}

/// Writes a new file (never over one), synced, and returns its length and
/// CRC-32.
fn write_file(from: &mut impl Read, path: &Path) -> Result<(u64, u32), BackupError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| BackupError::io(path, e))?;
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 256 << 10];
    let mut len = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BackupError::Damaged(format!("reading {}: {e}", path.display()))),
        };
        crc.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| BackupError::io(path, e))?;
        len += n as u64;
    }
    file.sync_all().map_err(|e| BackupError::io(path, e))?;
    Ok((len, crc.finalize()))
}

fn check_against(manifest: &Manifest, written: &BTreeMap<String, (u64, u32)>) -> Result<(), BackupError> {
    if manifest.format > MANIFEST_FORMAT {
        return Err(BackupError::Damaged(format!(
            "its manifest has format {}, newer than this build reads ({MANIFEST_FORMAT})",
            manifest.format
        )));
    }
    for f in &manifest.files {
        match written.get(&f.path) {
            None => {
                return Err(BackupError::Damaged(format!(
                    "{} is in the manifest but not in the archive",
                    f.path
                )));
            }
            Some(&(bytes, crc)) if bytes != f.bytes || crc != f.crc32 => {
                return Err(BackupError::Damaged(format!(
                    "{}: {bytes} bytes with CRC-32 {crc:08x}, where the manifest says {} bytes with {:08x}",
                    f.path, f.bytes, f.crc32
                )));
            }
            Some(_) => {}
        }
    }
    if written.len() != manifest.files.len() {
        let extra: Vec<&String> = written
            .keys()
            .filter(|k| !manifest.files.iter().any(|f| &f.path == *k))
            .collect();
        return Err(BackupError::Damaged(format!(
            "files missing from its manifest: {extra:?}"
        )));
    }
    Ok(())
}

fn remove_written(dir: &Path, created: bool) {
    let result = if created {
        std::fs::remove_dir_all(dir)
    } else {
        std::fs::read_dir(dir).and_then(|entries| {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    std::fs::remove_dir_all(&path)?;
                } else {
                    std::fs::remove_file(&path)?;
                }
            }
            Ok(())
        })
    };
    if let Err(e) = result {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot remove a failed backup's files");
    }
}
