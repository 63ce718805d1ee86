//! `host:port` of an SMTP server, as `smtp_smarthost` and an e-mail
//! receiver's `smarthost` give it; checked by both.

use super::Invalid;
use super::error::AlertingConfigError;

pub(super) fn validate_smarthost(h: &str) -> Result<(), Invalid> {
    smarthost(h).map_err(|e| Invalid::near(e.to_string(), h))
}

pub(super) fn smarthost(h: &str) -> Result<(), AlertingConfigError> {
    let bad = || AlertingConfigError::Smarthost(h.to_string());
    let (host, port) = h.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}
