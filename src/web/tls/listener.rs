//! The TLS listener `axum::serve` accepts from. TCP connections are taken
//! by a task of their own, and each handshake runs on its own task under
//! a timeout, so a slow or broken client never delays another; finished
//! handshakes queue for `accept`.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::{HANDSHAKE_TIMEOUT, MAX_CONCURRENT_HANDSHAKES};
use crate::selfmetrics::CounterVec;

type Accepted = (TlsStream<TcpStream>, SocketAddr);

pub struct TlsListener {
    ready: mpsc::Receiver<Accepted>,
    local_addr: SocketAddr,
}

impl TlsListener {
    pub(super) fn new(tcp: TcpListener, acceptor: TlsAcceptor, failures: Arc<CounterVec>) -> TlsListener {
        let local_addr = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        // A few finished handshakes may wait for the server to take them.
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(accept_loop(tcp, acceptor, tx, failures));
        TlsListener { ready, local_addr }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends once this listener is dropped; if
            // it ever ended otherwise, no connection would come again.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// Accepts TCP connections until the listener is dropped (graceful
/// shutdown drops it first, which closes the socket as the plain path does).
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<Accepted>,
    failures: Arc<CounterVec>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_CONCURRENT_HANDSHAKES));
    let (timeouts, errors, plain) = (
        failures.with(&["timeout"]),
        failures.with(&["error"]),
        failures.with(&["plain_http"]),
    );
    loop {
        let permit = tokio::select! {
            _ = ready.closed() => return,
            permit = handshakes.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
        };
        let (stream, addr) = tokio::select! {
            _ = ready.closed() => return,
            accepted = tcp.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
        };
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        let (timeouts, errors, plain) = (timeouts.clone(), errors.clone(), plain.clone());
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&acceptor, stream)).await;
            drop(permit);
            match outcome {
                Ok(Ok(Handshake::Done(tls))) => {
                    // Fails only when the server stopped accepting.
                    let _ = ready.send((*tls, addr)).await;
                }
                Ok(Ok(Handshake::PlainHttp)) => {
                    plain.inc();
                    tracing::debug!(client = %addr, "plain http request on the tls listener refused");
                }
                Ok(Err(e)) => {
                    errors.inc();
                    tracing::debug!(client = %addr, error = %e, "tls handshake failed");
                }
                Err(_) => {
                    timeouts.inc();
                    tracing::debug!(client = %addr, timeout = ?HANDSHAKE_TIMEOUT, "tls handshake timed out");
                }
            }
        });
    }
}

enum Handshake {
    /// Boxed: a TLS stream is over a kilobyte, the other variant nothing.
    Done(Box<TlsStream<TcpStream>>),
    /// The client spoke HTTP without TLS and was answered 400.
    PlainHttp,
}

/// A TLS record starts with its content type, 22 for a handshake; an HTTP
/// request starts with a method's capital letter. Such a client (an
/// `http://` URL pointing at the HTTPS port) gets a readable 400, as Go's
/// server answers, rather than a TLS alert its user cannot read.
async fn handshake(acceptor: &TlsAcceptor, mut stream: TcpStream) -> io::Result<Handshake> {
    let mut first = [0u8; 1];
    let n = stream.peek(&mut first).await?;
    if n == 1 && first[0].is_ascii_uppercase() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // Best effort: the client may already be gone.
        let _ = stream.write_all(PLAIN_HTTP_ANSWER).await;
        let _ = stream.shutdown().await;
        // Closing with its request unread would reset the connection and
        // could destroy the answer before the client reads it; so read
        // (a bounded amount, under the handshake timeout) until it closes.
        let drain = async {
            let mut sink = [0u8; 4096];
            let mut left: usize = 64 * 1024;
            while left > 0 {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), drain).await;
        return Ok(Handshake::PlainHttp);
    }
    acceptor
        .accept(stream)
        .await
        .map(|tls| Handshake::Done(Box::new(tls)))
}

const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nthis port serves https: use an https:// URL\n";

/// As axum's own TCP listener: a connection that died before it was taken
/// is nobody's problem; anything else (out of file descriptors) is logged
/// and retried after a pause rather than spun on.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; retrying in a second");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
}
