//! The archive a backup is streamed as: a tar of the staged files, each
//! exactly the length the copy took (a WAL's current segment goes on
//! growing under its hard link), then `backup-manifest.json` with every
//! file's length and CRC-32. Nothing is compressed: the stores' files are
//! compressed already.

use std::fs::File;
use std::io::{self, Read, Write};
use std::time::SystemTime;

use super::copy::Backups;
use super::manifest::{MANIFEST_FILE, Manifest, ManifestFile};
use super::{BackupError, Snapshot};
use crate::model::rfc3339;

impl Backups {
    /// Writes `snapshot` to `out` as a tar archive, manifest last, and
    /// counts the backup as done or failed. Blocking.
    pub fn stream(&self, snapshot: &Snapshot, out: impl Write) -> Result<Manifest, BackupError> {
        let result = write_archive(snapshot, out);
        match &result {
            Ok(manifest) => {
                self.metrics.backups.with(&["ok"]).inc();
                self.metrics
                    .bytes
                    .add(manifest.files.iter().map(|f| f.bytes).sum());
            }
            Err(e) => {
                self.metrics.backups.with(&["failed"]).inc();
                tracing::error!(error = %e, "backup failed while streaming its archive");
            }
        }
        result
    }
}

/// Writes the staged files and then the manifest as a tar archive.
fn write_archive(snapshot: &Snapshot, out: impl Write) -> Result<Manifest, BackupError> {
    let mut tar = tar::Builder::new(out);
    let mut manifest = snapshot.manifest.clone();
    let mtime = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for file in &snapshot.files {
        let source = snapshot.staging.join(&file.path);
        let opened = File::open(&source).map_err(|e| BackupError::io(&source, e))?;
        let mut reader = ExactReader {
            inner: opened.take(file.len),
            left: file.len,
            crc: crc32fast::Hasher::new(),
        };
        let name = archive_name(&file.path);
        let mut header = header(file.len, mtime);
        tar.append_data(&mut header, &name, &mut reader)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => BackupError::io(&source, e),
                _ => BackupError::Stream(e),
            })?;
        manifest.files.push(ManifestFile {
            path: name,
            bytes: file.len,
            crc32: reader.crc.finalize(),
        });
    }
    manifest.finished = rfc3339(SystemTime::now());
    let mut json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Stream(io::Error::other(e)))?;
    json.push(b'\n');
    let mut header = header(json.len() as u64, mtime);
    tar.append_data(&mut header, MANIFEST_FILE, json.as_slice())
        .map_err(BackupError::Stream)?;
    tar.into_inner()
        .and_then(|mut out| out.flush())
        .map_err(BackupError::Stream)?;
    Ok(manifest)
}

/// A file's path in the archive: `/`-separated, relative.
fn archive_name(path: &std::path::Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

fn header(len: u64, mtime: u64) -> tar::Header {
    // GNU headers carry sizes past 8 GiB (a large chunks.redb).
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(len);
    header.set_mode(0o600);
    header.set_mtime(mtime);
    header
}

/// Reads exactly `left` bytes, summing them; a file that ends sooner is an
/// error rather than a short entry the tar header would not match.
struct ExactReader<R> {
    inner: R,
    left: u64,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for ExactReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the file ended {} bytes before the length the copy took",
                    self.left
                ),
            ));
        }
        self.crc.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}
