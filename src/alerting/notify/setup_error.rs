//! Why a receiver's integrations cannot be built from the configuration:
//! a template that does not parse or calls one defined nowhere, an address
//! that is not one, TLS files that cannot be read. Raised while a reload
//! (or `belfry check config`) prepares alerting, so nothing goes live.

use std::path::PathBuf;

use crate::http_client::HttpClientError;
use crate::template::TemplateError;

use super::smtp_tls::SmtpTlsError;

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("templates: invalid pattern {pattern:?}: {source}")]
    TemplatePattern {
        pattern: String,
        #[source]
        source: glob::PatternError,
    },
    #[error("templates: cannot read {}: {source}", path.display())]
    TemplateRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("templates: {} is {size} bytes, more than the {limit} allowed", path.display())]
    TemplateTooLarge { path: PathBuf, size: u64, limit: u64 },
    /// A template file's text is wrong at `FILE:LINE`.
    #[error("{}:{line}: template: {message}", path.display())]
    TemplateAt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{origin}: {source}")]
    TemplateFile {
        origin: String,
        #[source]
        source: TemplateError,
    },
    #[error("templates: template {0:?} is called but defined nowhere")]
    TemplateUndefined(String),
    #[error("template: no such template {name:?} (defined: {defined})")]
    NoSuchTemplate { name: String, defined: String },
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A configured text (`html`, a header, …) that does not compile.
    #[error("{integration} {what}: {source}")]
    Text {
        integration: &'static str,
        what: String,
        #[source]
        source: Box<SetupError>,
    },
    #[error("email: no from address (set global smtp_from)")]
    NoFrom,
    #[error("email: no smarthost (set global smtp_smarthost)")]
    NoSmarthost,
    #[error("email: smarthost {0:?} must be host:port")]
    Smarthost(String),
    #[error("email: invalid {field} address {address:?}: {source}")]
    Address {
        field: &'static str,
        address: String,
        #[source]
        source: lettre::address::AddressError,
    },
    #[error("email header {0}: set the from/to fields of the email config instead")]
    FromToHeader(String),
    #[error("email: invalid header name {0:?}")]
    HeaderName(String),
    #[error("email {0}")]
    SmtpTls(#[from] SmtpTlsError),
    #[error("webhook {0}")]
    WebhookClient(#[source] HttpClientError),
    #[error("{integration} {source}")]
    Client {
        integration: &'static str,
        #[source]
        source: HttpClientError,
    },
    #[error("webhook: one of url or url_file must be configured")]
    NoUrl,
}
