//! `POST /api/belfry/backup`: a consistent copy of the data directory,
//! taken by the server (which holds the stores' files and locks) and
//! streamed as a tar archive, manifest last (`crate::backup`). The copy is
//! staged before the answer starts, so a failure there is an ordinary
//! error answer; one while streaming cuts the stream, which the receiving
//! side finds by the missing manifest. Recorded in the audit log when the
//! stream ends, with what it held or why it failed.

use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::backup::Backups;
use crate::web::access::ActingAs;
use crate::web::error::ApiError;
use crate::web::state::AppState;

/// The archive goes out in pieces of this size; a few wait in the channel
/// while the client reads, so a slow client holds little memory.
const PIECE_BYTES: usize = 1 << 20;
const PIECES_QUEUED: usize = 4;

fn backups(state: &AppState) -> Result<Arc<Backups>, ApiError> {
    state
        .backup
        .clone()
        .ok_or_else(|| ApiError::NotFound("this server takes no backups".to_string()))
}

/// `POST /api/belfry/backup`: answers `application/x-tar`, or 409 while
/// another backup runs.
pub async fn take(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
) -> Result<Response, ApiError> {
    let backups = backups(&state)?;
    let snapshot = {
        let backups = backups.clone();
        tokio::task::spawn_blocking(move || backups.snapshot())
            .await
            .map_err(|e| ApiError::Internal(format!("the backup task stopped: {e}")))??
    };
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(PIECES_QUEUED);
    let accounts = state.access.accounts().cloned();
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            piece: Vec::with_capacity(PIECE_BYTES),
        };
        let result = backups.stream(&snapshot, &mut out);
        drop(snapshot);
        let detail = match &result {
            Ok(m) => format!(
                "{} files, {} bytes; logs index commits waited {:.1} ms, metrics wal checkpoints {:.1} ms",
                m.files.len(),
                m.files.iter().map(|f| f.bytes).sum::<u64>(),
                m.logs_index_commit_pause_ms,
                m.metrics_wal_checkpoint_pause_ms
            ),
            Err(e) => {
                // Cuts the answer short: the client sees no manifest.
                let _ = tx.blocking_send(Err(io::Error::other(e.to_string())));
                format!("failed: {e}")
            }
        };
        if let Some(accounts) = accounts {
            accounts.record(&actor, "data.backup", "/api/belfry/backup", detail);
        }
    });
    // Fused: the compression layer may poll a finished body once more,
    // which a bare `unfold` answers with a panic.
    let pieces =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|piece| (piece, rx)) },
        )
        .fuse();
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-tar")
        .header(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"belfry-backup.tar\"",
        )
        .body(Body::from_stream(pieces))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Hands what the archive writer writes to the answer's body in pieces,
/// waiting while the client is behind; fails once the client is gone.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    piece: Vec<u8>,
}

impl ChannelWriter {
    fn send_piece(&mut self) -> io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE_BYTES));
        self.tx
            .blocking_send(Ok(Bytes::from(piece)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client stopped reading the backup"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = PIECE_BYTES - self.piece.len();
        let n = buf.len().min(room);
        self.piece.extend_from_slice(&buf[..n]);
        if self.piece.len() >= PIECE_BYTES {
            self.send_piece()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_piece()
    }
}
