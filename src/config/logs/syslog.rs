//! `logs.syslog`: the syslog listener, RFC 5424 and RFC 3164 messages
//! over UDP (a datagram each) and TCP (RFC 6587: octet-counted or one per
//! line), as rsyslog, syslog-ng, `logger` and network devices send them.
//! Only when configured.

use std::net::SocketAddr;

use serde::Deserialize;

use super::ByteSize;
use super::listener::{
    Transport, both_transports, default_idle_timeout, default_max_connections, parse_listen, validate,
};
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// `IP:PORT`. Port 514 needs privileges; 1514 is the usual
    /// unprivileged choice.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// `udp`, `tcp` or both (the default), on the same port.
    #[serde(default = "both_transports")]
    pub protocols: Vec<Transport>,
    /// The longest message (TCP frame); longer frames are skipped and
    /// counted.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: ByteSize,
    /// Open TCP connections at most; more are refused and counted.
    #[serde(default = "default_max_connections")]
    pub max_connections: u64,
    /// A TCP connection silent this long is closed.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: PromDuration,
}

fn default_listen() -> String {
    "127.0.0.1:1514".into()
}

fn default_max_message_bytes() -> ByteSize {
    // rsyslog's default is 8 KiB; room for senders configured larger.
    ByteSize(64 << 10)
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            listen: default_listen(),
            protocols: both_transports(),
            max_message_bytes: default_max_message_bytes(),
            max_connections: default_max_connections(),
            idle_timeout: default_idle_timeout(),
        }
    }
}

impl SyslogConfig {
    pub fn validate(&self) -> Result<(), String> {
        validate(
            &self.listen,
            &self.protocols,
            self.max_message_bytes,
            self.max_connections,
            self.idle_timeout,
        )
    }

    /// The address; valid once [`SyslogConfig::validate`] passed.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        parse_listen(&self.listen)
    }
}
