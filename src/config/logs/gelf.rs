//! `logs.gelf`: the GELF listener (Graylog's format; graypy, Docker's
//! `gelf` log driver, Logstash and Fluent Bit send it), over UDP — chunked,
//! gzip or zlib — and TCP (NUL-terminated frames). Only when configured.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::ByteSize;
use super::listener::{
    Transport, both_transports, default_idle_timeout, default_max_connections, parse_listen, validate,
};
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct GelfConfig {
    /// `IP:PORT`; GELF's usual port is 12201.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// `udp`, `tcp` or both (the default), on the same port.
    #[serde(default = "both_transports")]
    pub protocols: Vec<Transport>,
    /// The largest message after decompression (and TCP frame): a
    /// compressed bomb stops here.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: ByteSize,
    /// Open TCP connections at most; more are refused and counted.
    #[serde(default = "default_max_connections")]
    pub max_connections: u64,
    /// A TCP connection silent this long is closed.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: PromDuration,
    /// How long the chunks of an incomplete UDP message are held.
    #[serde(default = "default_chunk_timeout")]
    pub chunk_timeout: PromDuration,
    /// Bytes of incomplete chunked messages held at once; past it the
    /// oldest are dropped and counted.
    #[serde(default = "default_max_chunk_bytes")]
    pub max_chunk_bytes: ByteSize,
}

fn default_listen() -> String {
    "127.0.0.1:12201".into()
}

fn default_max_message_bytes() -> ByteSize {
    ByteSize(1 << 20)
}

fn default_chunk_timeout() -> PromDuration {
    // Graylog's.
    PromDuration(Duration::from_secs(5))
}

fn default_max_chunk_bytes() -> ByteSize {
    ByteSize(32 << 20)
}

impl Default for GelfConfig {
    fn default() -> Self {
        GelfConfig {
            listen: default_listen(),
            protocols: both_transports(),
            max_message_bytes: default_max_message_bytes(),
            max_connections: default_max_connections(),
            idle_timeout: default_idle_timeout(),
            chunk_timeout: default_chunk_timeout(),
            max_chunk_bytes: default_max_chunk_bytes(),
        }
    }
}

impl GelfConfig {
    pub fn validate(&self) -> Result<(), String> {
        validate(
            &self.listen,
            &self.protocols,
            self.max_message_bytes,
            self.max_connections,
            self.idle_timeout,
        )?;
        if self.chunk_timeout.is_zero() {
            return Err("chunk_timeout: must be positive".into());
        }
        if self.max_chunk_bytes.0 < self.max_message_bytes.0 {
            return Err(format!(
                "max_chunk_bytes ({}) must be at least max_message_bytes ({})",
                self.max_chunk_bytes, self.max_message_bytes
            ));
        }
        Ok(())
    }

    /// The address; valid once [`GelfConfig::validate`] passed.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        parse_listen(&self.listen)
    }
}
