//! GELF over TCP: uncompressed JSON messages, each ended by a NUL byte.
//! A frame past the limit is reported once, with its size, and skipped
//! without being buffered.

use super::GelfError;

#[derive(Debug)]
pub struct NulFramer {
    buf: Vec<u8>,
    max_frame: usize,
    /// Bytes of an over-long frame seen so far, while skipping it.
    skipping: Option<usize>,
}

impl NulFramer {
    pub fn new(max_frame: usize) -> Self {
        NulFramer {
            buf: Vec::new(),
            max_frame,
            skipping: None,
        }
    }

    pub fn push(&mut self, data: &[u8]) -> Vec<Result<Vec<u8>, GelfError>> {
        let mut out = Vec::new();
        let mut rest = data;
        while !rest.is_empty() {
            match memchr::memchr(0, rest) {
                Some(i) => {
                    let size = self.skipping.take().unwrap_or(self.buf.len()) + i;
                    if size > self.max_frame {
                        out.push(Err(GelfError::FrameTooLong {
                            size,
                            limit: self.max_frame,
                        }));
                    } else {
                        self.buf.extend_from_slice(&rest[..i]);
                        if !self.buf.iter().all(u8::is_ascii_whitespace) {
                            out.push(Ok(std::mem::take(&mut self.buf)));
                        }
                    }
                    self.buf.clear();
                    rest = &rest[i + 1..];
                }
                None => {
                    match &mut self.skipping {
                        Some(seen) => *seen += rest.len(),
                        None if self.buf.len() + rest.len() > self.max_frame => {
                            self.skipping = Some(self.buf.len() + rest.len());
                            self.buf.clear();
                        }
                        None => self.buf.extend_from_slice(rest),
                    }
                    rest = &[];
                }
            }
        }
        out
    }

    /// At end of stream: a last message without its NUL is still one.
    pub fn finish(self) -> Option<Result<Vec<u8>, GelfError>> {
        if let Some(size) = self.skipping {
            return Some(Err(GelfError::FrameTooLong {
                size,
                limit: self.max_frame,
            }));
        }
        (!self.buf.iter().all(u8::is_ascii_whitespace)).then_some(Ok(self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graypy_tcp_stream() {
        let stream = include_bytes!("../../../../tests/fixtures/logs/gelf_graypy_tcp.bin");
        let mut f = NulFramer::new(1 << 20);
        let mut frames: Vec<Vec<u8>> = Vec::new();
        for piece in stream.chunks(7) {
            frames.extend(f.push(piece).into_iter().map(Result::unwrap));
        }
        assert!(f.finish().is_none());
        let lines: Vec<String> = frames
            .iter()
            .map(|fr| super::super::decode_payload(fr, 1 << 20).unwrap().line)
            .collect();
        assert_eq!(lines, ["tcp gelf one", "tcp gelf two"]);
    }

    #[test]
    fn oversized_frames_are_skipped() {
        let mut f = NulFramer::new(4);
        let got = f.push(b"abc\0toolong");
        assert_eq!(got, vec![Ok(b"abc".to_vec())]);
        let got = f.push(b"still\0ok\0\0");
        assert_eq!(
            got,
            vec![
                Err(GelfError::FrameTooLong { size: 12, limit: 4 }),
                Ok(b"ok".to_vec())
            ]
        );
        assert_eq!(f.push(b"12345"), vec![]);
        assert_eq!(
            f.finish(),
            Some(Err(GelfError::FrameTooLong { size: 5, limit: 4 }))
        );
    }
}
