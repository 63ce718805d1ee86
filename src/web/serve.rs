//! Serving the router on the listener: plain HTTP, or HTTPS through
//! `tls::TlsListener`, with the same graceful shutdown and the client's
//! address as `ConnectInfo<SocketAddr>` on both paths.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::tls::ServerTls;

/// Serves `app` until `shutdown` is cancelled, then stops accepting and
/// returns once the requests in flight are answered. With `tls`, its
/// certificate files are also polled for changes until then.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerTls>>,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let stop = shutdown.clone().cancelled_owned();
    match tls {
        None => axum::serve(listener, app).with_graceful_shutdown(stop).await,
        Some(tls) => {
            tokio::spawn(tls.clone().watch(shutdown));
            // axum gives `ConnectInfo<SocketAddr>` to its own TCP listener
            // and to any listener behind `tap_io`; the tap does nothing else.
            let listener = tls.listener(listener).tap_io(|_| {});
            axum::serve(listener, app).with_graceful_shutdown(stop).await
        }
    }
}
