//! Syslog: RFC 5424 and RFC 3164 messages (`message.rs` tells them apart
//! and maps either onto an entry; `rfc5424.rs`, `rfc3164.rs` parse them;
//! `pri.rs` the shared `<PRI>`), and the two TCP framings of RFC 6587
//! (`framing.rs`). A UDP datagram is one message.

mod error;
mod framing;
mod message;
mod pri;
mod rfc3164;
mod rfc5424;

pub use error::SyslogError;
pub use framing::{MAX_FRAME, TcpFramer};
pub use message::{decode_datagram, decode_message};
pub use pri::{Pri, facility_name};
