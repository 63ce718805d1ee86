//! The two listener protocols: what each calls itself in the metrics,
//! how a TCP stream splits into messages, and how one message decodes.

use crate::config::Transport;
use crate::logs::Entry;
use crate::logs::ingest::gelf::{self, NulFramer};
use crate::logs::ingest::syslog::{self, TcpFramer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Gelf,
    Syslog,
}

/// Why a message or frame was refused: the `reason` of
/// `belfry_logs_rejected_total` and the text for the log.
pub struct Refused {
    pub reason: &'static str,
    pub message: String,
}

impl Protocol {
    /// The `source` label of the logs metrics.
    pub fn source(self) -> &'static str {
        match self {
            Protocol::Gelf => "gelf",
            Protocol::Syslog => "syslog",
        }
    }

    /// One message: a whole GELF payload (compressed or not) or one
    /// syslog message. `now_ns` supplies RFC 3164's missing year.
    pub fn decode(self, bytes: &[u8], max_bytes: usize, now_ns: i64) -> Result<Entry, Refused> {
        match self {
            Protocol::Gelf => gelf::decode_payload(bytes, max_bytes).map_err(gelf_refused),
            Protocol::Syslog => syslog::decode_message(bytes, now_ns).map_err(syslog_refused),
        }
    }

    pub fn framer(self, max_frame: usize) -> StreamFramer {
        match self {
            Protocol::Gelf => StreamFramer::Gelf(NulFramer::new(max_frame)),
            Protocol::Syslog => StreamFramer::Syslog(TcpFramer::new(max_frame)),
        }
    }
}

fn gelf_refused(e: gelf::GelfError) -> Refused {
    let reason = match e {
        gelf::GelfError::FrameTooLong { .. } | gelf::GelfError::TooLarge { .. } => "too_large",
        _ => "malformed",
    };
    Refused {
        reason,
        message: e.to_string(),
    }
}

fn syslog_refused(e: syslog::SyslogError) -> Refused {
    let reason = match e {
        syslog::SyslogError::FrameTooLong { .. } => "too_large",
        _ => "malformed",
    };
    Refused {
        reason,
        message: e.to_string(),
    }
}

/// A TCP connection's framing: NUL-terminated for GELF, RFC 6587 for
/// syslog.
pub enum StreamFramer {
    Gelf(NulFramer),
    Syslog(TcpFramer),
}

impl StreamFramer {
    pub fn push(&mut self, data: &[u8]) -> Vec<Result<Vec<u8>, Refused>> {
        match self {
            StreamFramer::Gelf(f) => f
                .push(data)
                .into_iter()
                .map(|r| r.map_err(gelf_refused))
                .collect(),
            StreamFramer::Syslog(f) => f
                .push(data)
                .into_iter()
                .map(|r| r.map_err(syslog_refused))
                .collect(),
        }
    }

    /// What a clean close leaves: a last message without its terminator
    /// is still a message.
    pub fn finish(self) -> Option<Result<Vec<u8>, Refused>> {
        match self {
            StreamFramer::Gelf(f) => f.finish().map(|r| r.map_err(gelf_refused)),
            StreamFramer::Syslog(f) => f.finish().map(|r| r.map_err(syslog_refused)),
        }
    }
}

pub fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    }
}
