//! The certificate rustls presents: one pair, replaced whole.

use std::sync::Arc;

use parking_lot::RwLock;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Hands every new handshake the pair in service. A replacement swaps the
/// `Arc`, so a handshake sees the old pair or the new one, never a mix,
/// and connections already open are not touched.
#[derive(Debug)]
pub(super) struct CurrentCertificate(RwLock<Arc<CertifiedKey>>);

impl CurrentCertificate {
    pub(super) fn new(first: Arc<CertifiedKey>) -> Self {
        CurrentCertificate(RwLock::new(first))
    }

    pub(super) fn replace(&self, next: Arc<CertifiedKey>) {
        *self.0.write() = next;
    }
}

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().clone())
    }
}
