//! TCP syslog framing (RFC 6587): octet counting (`LEN SP MSG`, what
//! rsyslog's `omfwd` sends with `TCP_Framing="octet-counted"`) or a line
//! per message. Each frame says which by its first byte — a digit starts a
//! count, `<` a line — so one connection may even mix them. Frames over the
//! limit are reported and skipped without buffering them.

/// rsyslog's default maximum message size is 8 KiB; 64 KiB leaves room
/// for senders configured larger.
pub const MAX_FRAME: usize = 64 * 1024;

use super::SyslogError;

/// Longest length prefix: enough digits for any count below the limit.
const MAX_COUNT_DIGITS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Skip {
    None,
    Bytes(usize),
    ToNewline,
    /// A line past the limit, this many bytes of it seen so far; reported
    /// with its full size once its end arrives.
    LongLine(usize),
}

/// Splits a TCP stream into messages across reads.
#[derive(Debug)]
pub struct TcpFramer {
    buf: Vec<u8>,
    max_frame: usize,
    skip: Skip,
}

impl TcpFramer {
    pub fn new(max_frame: usize) -> Self {
        TcpFramer {
            buf: Vec::new(),
            max_frame,
            skip: Skip::None,
        }
    }

    /// The frames completed by `data`, in order, each a message or the
    /// reason a frame was skipped.
    pub fn push(&mut self, data: &[u8]) -> Vec<Result<Vec<u8>, SyslogError>> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            match self.skip {
                Skip::Bytes(n) => {
                    let take = n.min(self.buf.len() - pos);
                    pos += take;
                    self.skip = if take == n {
                        Skip::None
                    } else {
                        Skip::Bytes(n - take)
                    };
                    if self.skip != Skip::None {
                        break;
                    }
                }
                Skip::ToNewline => match memchr::memchr(b'\n', &self.buf[pos..]) {
                    Some(i) => {
                        pos += i + 1;
                        self.skip = Skip::None;
                    }
                    None => {
                        pos = self.buf.len();
                        break;
                    }
                },
                Skip::LongLine(seen) => match memchr::memchr(b'\n', &self.buf[pos..]) {
                    Some(i) => {
                        out.push(Err(SyslogError::FrameTooLong {
                            size: seen + i,
                            limit: self.max_frame,
                        }));
                        pos += i + 1;
                        self.skip = Skip::None;
                    }
                    None => {
                        self.skip = Skip::LongLine(seen + self.buf.len() - pos);
                        pos = self.buf.len();
                        break;
                    }
                },
                Skip::None => {}
            }
            while matches!(self.buf.get(pos), Some(b'\n' | b'\r' | b' ' | b'\0')) {
                pos += 1;
            }
            let rest = &self.buf[pos..];
            let Some(&first) = rest.first() else { break };
            if first.is_ascii_digit() {
                let Some(space) = rest.iter().take(MAX_COUNT_DIGITS + 1).position(|&b| b == b' ') else {
                    if rest.len() > MAX_COUNT_DIGITS {
                        out.push(Err(SyslogError::OctetCount(
                            String::from_utf8_lossy(&rest[..MAX_COUNT_DIGITS]).into_owned(),
                        )));
                        self.skip = Skip::ToNewline;
                        continue;
                    }
                    break;
                };
                let digits = &rest[..space];
                let Some(len) = std::str::from_utf8(digits)
                    .ok()
                    .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|d| d.parse::<usize>().ok())
                else {
                    out.push(Err(SyslogError::OctetCount(
                        String::from_utf8_lossy(digits).into_owned(),
                    )));
                    self.skip = Skip::ToNewline;
                    continue;
                };
                if len > self.max_frame {
                    out.push(Err(SyslogError::FrameTooLong {
                        size: len,
                        limit: self.max_frame,
                    }));
                    pos += space + 1;
                    self.skip = Skip::Bytes(len);
                    continue;
                }
                if rest.len() < space + 1 + len {
                    break;
                }
                out.push(Ok(rest[space + 1..space + 1 + len].to_vec()));
                pos += space + 1 + len;
            } else {
                match memchr::memchr(b'\n', rest) {
                    Some(i) if i > self.max_frame => {
                        out.push(Err(SyslogError::FrameTooLong {
                            size: i,
                            limit: self.max_frame,
                        }));
                        pos += i + 1;
                    }
                    Some(i) => {
                        let line = &rest[..i];
                        out.push(Ok(line.strip_suffix(b"\r").unwrap_or(line).to_vec()));
                        pos += i + 1;
                    }
                    None if rest.len() > self.max_frame => {
                        self.skip = Skip::LongLine(rest.len());
                        pos = self.buf.len();
                    }
                    None => break,
                }
            }
        }
        self.buf.drain(..pos);
        out
    }

    /// At end of stream: a last line without its newline is still a
    /// message; an incomplete counted frame is lost (and said so).
    pub fn finish(self) -> Option<Result<Vec<u8>, SyslogError>> {
        if let Skip::LongLine(seen) = self.skip {
            return Some(Err(SyslogError::FrameTooLong {
                size: seen,
                limit: self.max_frame,
            }));
        }
        let rest = self.buf.trim_ascii();
        if rest.is_empty() || self.skip != Skip::None {
            return None;
        }
        if rest[0].is_ascii_digit() {
            return Some(Err(SyslogError::OctetCount(format!(
                "{} bytes cut short by the end of the stream",
                rest.len()
            ))));
        }
        Some(Ok(rest.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frames(framer: &mut TcpFramer, data: &[u8]) -> Vec<String> {
        framer
            .push(data)
            .into_iter()
            .map(|r| match r {
                Ok(f) => String::from_utf8(f).unwrap(),
                Err(e) => format!("error: {e}"),
            })
            .collect()
    }

    #[test]
    fn captured_logger_frames() {
        let mut f = TcpFramer::new(MAX_FRAME);
        let octet =
            include_bytes!("../../../../tests/fixtures/logs/syslog_logger_rfc5424_tcp_octet_counted.txt");
        let got = frames(&mut f, octet);
        assert_eq!(got.len(), 1);
        assert!(
            got[0].starts_with("<134>1 ") && got[0].ends_with("octet counted one"),
            "{got:?}"
        );
        let newline = include_bytes!("../../../../tests/fixtures/logs/syslog_logger_rfc3164_tcp_newline.txt");
        assert_eq!(
            frames(&mut f, newline),
            ["<29>Dec  6 19:04:11 vm lms-cron: newline framed"]
        );
    }

    #[test]
    fn mixed_split_and_oversized() {
        let mut f = TcpFramer::new(16);
        assert_eq!(frames(&mut f, b"5 <1>a"), Vec::<String>::new());
        assert_eq!(frames(&mut f, b"b<2>line\n<3>"), ["<1>ab", "<2>line"]);
        assert_eq!(
            frames(&mut f, b"x\r\n20 0123456789"),
            [
                "<3>x",
                "error: frame of 20 bytes is over the limit of 16; skipped"
            ]
        );
        assert_eq!(frames(&mut f, b"0123456789<4>ok\n"), ["<4>ok"]);
        assert_eq!(
            frames(&mut f, b"<5>this line is far too long"),
            Vec::<String>::new()
        );
        assert_eq!(
            frames(&mut f, b" still\n<6>y\n"),
            [
                "error: frame of 34 bytes is over the limit of 16; skipped",
                "<6>y"
            ]
        );
        assert_eq!(
            frames(&mut f, b"\n<6>y\n12x4 z\n<7>tail"),
            [
                "<6>y",
                "error: octet-counted frame length \"12x4\" is not a number"
            ]
        );
        assert_eq!(f.finish(), Some(Ok(b"<7>tail".to_vec())));
    }

    proptest! {
        /// Any split of a stream of messages gives the same frames.
        #[test]
        fn splits_do_not_matter(msgs in prop::collection::vec("<[0-9]{1,2}>[a-z ]{0,30}", 1..8), counted in prop::collection::vec(any::<bool>(), 8), cut in 0usize..400) {
            let mut stream = Vec::new();
            for (m, c) in msgs.iter().zip(&counted) {
                if *c {
                    stream.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
                } else {
                    stream.extend_from_slice(format!("{m}\n").as_bytes());
                }
            }
            let cut = cut.min(stream.len());
            let mut f = TcpFramer::new(MAX_FRAME);
            let mut got: Vec<Vec<u8>> = f.push(&stream[..cut]).into_iter().map(Result::unwrap).collect();
            got.extend(f.push(&stream[cut..]).into_iter().map(Result::unwrap));
            got.extend(f.finish().map(Result::unwrap));
            let want: Vec<Vec<u8>> = msgs.iter().map(|m| m.trim_end().as_bytes().to_vec()).collect();
            let got: Vec<Vec<u8>> = got.into_iter().map(|g| g.trim_ascii_end().to_vec()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
