//! `belfry backup DIR`: asks a running server for a consistent copy of its
//! data directory (`POST /api/belfry/backup`, an admin token from
//! `--token` or `BELFRY_TOKEN`) and unpacks the archive into DIR, which
//! must be new or empty, checking every file against the manifest that
//! ends it. The server takes the copy because it holds the stores' files
//! and locks; this works from another machine or container too.
//! `belfry serve --data-dir DIR` then opens the copy.

use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::server_cli::{self, Server};

/// How long the server may go silent: staging a large state store takes
/// a while before the first byte.
const READ_TIMEOUT: Duration = Duration::from_secs(600);

pub fn backup(server: &Server, dir: &Path) -> Result<()> {
    // Before asking the server for anything.
    belfry::backup::check_empty_target(dir)?;
    let runtime = server_cli::runtime()?;
    belfry::http_client::install_crypto_provider();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(READ_TIMEOUT)
        .build()
        .context("cannot build the HTTP client")?;
    let request = client
        .post(server.url_of("/api/belfry/backup"))
        // The archive's files are mostly compressed already.
        .header("Accept-Encoding", "identity");
    let response = runtime.block_on(server.send(request))?;
    let body = BodyReader {
        runtime: &runtime,
        response,
        piece: bytes::Bytes::new(),
    };
    let manifest = belfry::backup::unpack(body, dir).with_context(|| {
        format!(
            "the backup into {} failed, and what it wrote was removed",
            dir.display()
        )
    })?;
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    println!(
        "backup of {} files ({bytes} bytes) in {}, taken {}",
        manifest.files.len(),
        dir.display(),
        manifest.started
    );
    println!(
        "  writers never waited; logs index commits waited {:.1} ms, metrics WAL checkpoints {:.1} ms",
        manifest.logs_index_commit_pause_ms, manifest.metrics_wal_checkpoint_pause_ms
    );
    for skipped in &manifest.not_copied {
        println!("  not copied: {skipped}");
    }
    println!("  restore: belfry serve --data-dir {}", dir.display());
    Ok(())
}

/// The answer's body as a `Read`, a piece at a time.
struct BodyReader<'a> {
    runtime: &'a tokio::runtime::Runtime,
    response: reqwest::Response,
    piece: bytes::Bytes,
}

impl Read for BodyReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.piece.is_empty() {
            match self.runtime.block_on(self.response.chunk()) {
                Ok(Some(piece)) => self.piece = piece,
                Ok(None) => return Ok(0),
                Err(e) => return Err(io::Error::other(format!("the server's answer broke off: {e}"))),
            }
        }
        let n = buf.len().min(self.piece.len());
        buf[..n].copy_from_slice(&self.piece[..n]);
        self.piece = self.piece.slice(n..);
        Ok(n)
    }
}
