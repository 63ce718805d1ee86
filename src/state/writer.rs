//! Group commit for `state.redb`: writes from async code go to one thread
//! that applies everything queued in a single durable transaction, so many
//! concurrent notifications cost one fsync, and no fsync runs on the async
//! executor.

use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{StateError, StateStore};

/// A put (`value: Some`) or delete of one key.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteOp {
    pub table: &'static str,
    pub key: String,
    pub value: Option<Vec<u8>>,
}

impl WriteOp {
    pub fn put(table: &'static str, key: impl Into<String>, value: Vec<u8>) -> Self {
        WriteOp {
            table,
            key: key.into(),
            value: Some(value),
        }
    }
    pub fn delete(table: &'static str, key: impl Into<String>) -> Self {
        WriteOp {
            table,
            key: key.into(),
            value: None,
        }
    }
}

type Request = (Vec<WriteOp>, Option<oneshot::Sender<Result<(), Arc<StateError>>>>);

/// Handle to the writer thread; dropping the last handle stops it.
#[derive(Clone)]
pub struct StateWriter {
    tx: mpsc::Sender<Request>,
}

impl StateWriter {
    pub fn start(store: Arc<StateStore>) -> StateWriter {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("belfry-state-writer".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    // Moved, not copied: error events are tens of kilobytes.
                    let ops: Vec<WriteOp> = batch
                        .iter_mut()
                        .flat_map(|(ops, _)| std::mem::take(ops))
                        .collect();
                    let result = store.write(&ops).map_err(Arc::new);
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "state write failed");
                    }
                    for (_, done) in batch {
                        if let Some(done) = done {
                            let _ = done.send(result.clone());
                        }
                    }
                }
            })
            .expect("spawning the state writer thread");
        StateWriter { tx }
    }

    /// Writes and waits until the transaction is durable.
    pub async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StateError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((ops, Some(done)))
            .map_err(|_| StateError::WriterStopped)?;
        wait.await
            .map_err(|_| StateError::WriterStopped)?
            .map_err(StateError::BatchFailed)
    }

    /// Queues a write now and returns the wait for it to be durable.
    /// Writes queued one after the other commit in that order, so a caller
    /// holding a lock while queueing keeps its writes in its own order
    /// without holding the lock across the fsync.
    pub fn enqueue(&self, ops: Vec<WriteOp>) -> PendingWrite {
        let (done, wait) = oneshot::channel();
        match self.tx.send((ops, Some(done))) {
            Ok(()) => PendingWrite(Some(wait)),
            Err(_) => PendingWrite(None),
        }
    }

    /// Writes without waiting (from blocking or sync code).
    pub fn write_detached(&self, ops: Vec<WriteOp>) {
        if self.tx.send((ops, None)).is_err() {
            tracing::error!("state writer has stopped; a state change was not persisted");
        }
    }

    /// Writes and blocks the calling thread until durable. Never call this
    /// on the async executor.
    pub fn write_blocking(&self, ops: Vec<WriteOp>) -> Result<(), StateError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send((ops, Some(done)))
            .map_err(|_| StateError::WriterStopped)?;
        wait.blocking_recv()
            .map_err(|_| StateError::WriterStopped)?
            .map_err(StateError::BatchFailed)
    }
}

/// A queued write; [`PendingWrite::durable`] waits for its commit.
pub struct PendingWrite(Option<oneshot::Receiver<Result<(), Arc<StateError>>>>);

impl PendingWrite {
    pub async fn durable(self) -> Result<(), StateError> {
        let wait = self.0.ok_or(StateError::WriterStopped)?;
        wait.await
            .map_err(|_| StateError::WriterStopped)?
            .map_err(StateError::BatchFailed)
    }

    /// As [`PendingWrite::durable`], blocking the calling thread. Never
    /// call this on the async executor.
    pub fn durable_blocking(self) -> Result<(), StateError> {
        let wait = self.0.ok_or(StateError::WriterStopped)?;
        wait.blocking_recv()
            .map_err(|_| StateError::WriterStopped)?
            .map_err(StateError::BatchFailed)
    }
}
