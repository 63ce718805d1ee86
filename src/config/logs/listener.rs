//! What the network listeners of `logs.gelf` and `logs.syslog` share: the
//! address, the transports, and the limits that keep a sender from taking
//! memory or file descriptors without bound.

use std::net::SocketAddr;

use serde::Deserialize;

use super::ByteSize;
use crate::model::PromDuration;

/// A transport a listener serves on its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
}

pub(super) fn both_transports() -> Vec<Transport> {
    vec![Transport::Udp, Transport::Tcp]
}

pub(super) fn default_max_connections() -> u64 {
    256
}

pub(super) fn default_idle_timeout() -> PromDuration {
    PromDuration(std::time::Duration::from_secs(300))
}

/// Below this a frame cannot hold a message worth keeping.
const MIN_MESSAGE_BYTES: u64 = 1024;
/// A UDP datagram cannot be larger; TCP frames may be, up to this.
const MAX_MESSAGE_BYTES: u64 = 64 << 20;

/// The checks both listeners need; messages name the key under the
/// listener's section.
pub(super) fn validate(
    listen: &str,
    transports: &[Transport],
    max_message_bytes: ByteSize,
    max_connections: u64,
    idle_timeout: PromDuration,
) -> Result<(), String> {
    parse_listen(listen)?;
    if transports.is_empty() {
        return Err("protocols: name at least one of udp, tcp".into());
    }
    for (i, t) in transports.iter().enumerate() {
        if transports[..i].contains(t) {
            return Err(format!("protocols: {t:?} is listed twice").to_lowercase());
        }
    }
    if !(MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&max_message_bytes.0) {
        return Err(format!(
            "max_message_bytes: must be between {} and {}, got {max_message_bytes}",
            ByteSize(MIN_MESSAGE_BYTES),
            ByteSize(MAX_MESSAGE_BYTES)
        ));
    }
    if max_connections == 0 {
        return Err("max_connections: must be positive".into());
    }
    if idle_timeout.is_zero() {
        return Err("idle_timeout: must be positive".into());
    }
    Ok(())
}

/// `listen` as an address; only an IP address and a port, as a listener
/// binds before any name service is consulted.
pub(super) fn parse_listen(listen: &str) -> Result<SocketAddr, String> {
    listen.parse().map_err(|_| {
        format!(
            "listen: {listen:?} is not an address; write IP:PORT, e.g. \"127.0.0.1:12201\" or \"[::1]:12201\""
        )
    })
}
