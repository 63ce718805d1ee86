//! One connection to the directory for one sign-in: opened (TLS from the
//! start, or upgraded by STARTTLS before anything else is sent), used for
//! a few operations, and closed. Logins are rare, so no pool: a connection
//! per sign-in keeps a bind's identity from leaking into the next one.

use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Scope, SearchEntry, SearchOptions};
use tokio::task::JoinHandle;

pub struct Session {
    ldap: ldap3::Ldap,
    /// The task reading and writing the socket; aborted when the session
    /// is dropped, so a sign-in cut short by its timeout leaves nothing
    /// running.
    driver: JoinHandle<()>,
}

/// What a search found: entries (referrals left out) and the result.
pub struct Found {
    pub entries: Vec<SearchEntry>,
    pub result: LdapResult,
}

impl Session {
    /// Connects to `url`; `tls` is the client configuration for ldaps://
    /// or STARTTLS (None for plain ldap://).
    pub async fn open(
        url: &str,
        tls: Option<&Arc<rustls::ClientConfig>>,
        start_tls: bool,
        timeout: Duration,
    ) -> Result<Session, LdapError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(timeout);
        if let Some(tls) = tls {
            settings = settings.set_config(tls.clone()).set_starttls(start_tls);
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, url).await?;
        let driver = tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "ldap connection ended with an error");
            }
        });
        Ok(Session { ldap, driver })
    }

    /// A simple bind; the result code is the caller's to judge (49 is a
    /// wrong password, not a failure of the directory).
    pub async fn bind(&mut self, dn: &str, password: &str) -> Result<LdapResult, LdapError> {
        self.ldap.simple_bind(dn, password).await
    }

    /// A subtree search returning at most `limit` entries (the server
    /// answers sizeLimitExceeded, 4, past it).
    pub async fn search(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        limit: i32,
    ) -> Result<Found, LdapError> {
        let ldap3::SearchResult(entries, result) = self
            .ldap
            .with_search_options(SearchOptions::new().sizelimit(limit))
            .search(base, Scope::Subtree, filter, attrs.to_vec())
            .await?;
        let entries = entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct)
            .collect();
        Ok(Found { entries, result })
    }

    /// Unbinds politely; the connection closes either way.
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.driver.abort();
    }
}
