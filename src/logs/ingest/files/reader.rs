//! Reading the complete lines of an open file from an offset. A line
//! still being written (no newline yet) waits in a buffer until its end
//! arrives; a line longer than the limit is cut, marked, and the rest of
//! it skipped up to its newline, so memory stays bounded.

use std::fs::File;
use std::os::unix::fs::FileExt;

use super::line::FileLine;
use crate::logs::schema::TRUNCATION_MARKER;

/// Bytes read from a file per call, so one busy file cannot starve the
/// others or grow a batch without bound; each open file keeps a buffer of
/// this size, so `max_open_files` of them stay small.
const READ_CHUNK: usize = 64 << 10;

pub struct LineReader {
    file: File,
    /// Bytes of the file read so far.
    offset: u64,
    /// The start of a line whose newline has not been read yet.
    pending: Vec<u8>,
    pending_start: u64,
    /// The line in `pending` went over the limit; the rest is dropped.
    overlong: bool,
    max_line_bytes: usize,
    chunk: Vec<u8>,
}

/// What one read found.
#[derive(Debug, Default)]
pub struct Read {
    pub lines: Vec<FileLine>,
    pub bytes: u64,
    /// Lines cut to `max_line_bytes`.
    pub truncated: u64,
    /// The read stopped at the end of the file.
    pub at_end: bool,
}

impl LineReader {
    pub fn new(file: File, offset: u64, max_line_bytes: usize) -> Self {
        LineReader {
            file,
            offset,
            pending: Vec::new(),
            pending_start: offset,
            overlong: false,
            max_line_bytes,
            chunk: vec![0; READ_CHUNK],
        }
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Bytes read so far, whole lines or not.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the line still waiting for its newline starts.
    pub fn pending_start(&self) -> u64 {
        self.pending_start
    }

    /// Starts again at `offset` (the file was truncated), dropping what
    /// waited.
    pub fn restart_at(&mut self, offset: u64) {
        self.offset = offset;
        self.pending.clear();
        self.pending_start = offset;
        self.overlong = false;
    }

    /// Reads up to one chunk and returns the lines it completed.
    pub fn read(&mut self) -> std::io::Result<Read> {
        let mut out = Read::default();
        let n = loop {
            match self.file.read_at(&mut self.chunk, self.offset) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        out.at_end = n < self.chunk.len();
        out.bytes = n as u64;
        let chunk_start = self.offset;
        self.offset += n as u64;
        let mut from = 0;
        while let Some(nl) = memchr::memchr(b'\n', &self.chunk[from..n]) {
            let end = from + nl;
            self.append(from, end);
            let line_end = chunk_start + end as u64 + 1;
            out.truncated += u64::from(self.overlong);
            out.lines.push(self.emit(line_end));
            from = end + 1;
        }
        self.append(from, n);
        Ok(out)
    }

    /// The unfinished last line, when the file will not grow any more
    /// (rotated away or deleted and read to its end).
    pub fn finish(&mut self) -> Option<FileLine> {
        if self.pending.is_empty() && !self.overlong {
            return None;
        }
        Some(self.emit(self.offset))
    }

    fn append(&mut self, from: usize, to: usize) {
        let room = self.max_line_bytes.saturating_sub(self.pending.len());
        let take = (to - from).min(room);
        self.pending.extend_from_slice(&self.chunk[from..from + take]);
        if take < to - from {
            self.overlong = true;
        }
    }

    fn emit(&mut self, end: u64) -> FileLine {
        if self.pending.last() == Some(&b'\r') {
            self.pending.pop();
        }
        let mut text = String::from_utf8_lossy(&self.pending).into_owned();
        let truncated = std::mem::take(&mut self.overlong);
        if truncated {
            // A multi-byte character cut in half became U+FFFD above.
            text.push_str(TRUNCATION_MARKER);
        }
        let line = FileLine {
            text,
            start: self.pending_start,
            end,
            truncated,
            ..FileLine::default()
        };
        self.pending.clear();
        self.pending_start = end;
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn texts(r: &Read) -> Vec<&str> {
        r.lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn whole_lines_only_and_their_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut w = File::create(&path).unwrap();
        w.write_all(b"one\r\ntwo\nthr").unwrap();
        let mut r = LineReader::new(File::open(&path).unwrap(), 0, 1024);
        let got = r.read().unwrap();
        assert_eq!(texts(&got), ["one", "two"]);
        assert_eq!((got.lines[1].start, got.lines[1].end), (5, 9));
        assert!(got.at_end);
        assert_eq!(r.pending_start(), 9);
        w.write_all(b"ee\n").unwrap();
        let got = r.read().unwrap();
        assert_eq!(texts(&got), ["three"]);
        assert_eq!((got.lines[0].start, got.lines[0].end), (9, 15));
        assert_eq!(r.finish(), None);
        w.write_all(b"tail").unwrap();
        r.read().unwrap();
        assert_eq!(r.finish().unwrap().text, "tail");
    }

    #[test]
    fn an_overlong_line_is_cut_and_the_rest_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let long = "x".repeat(READ_CHUNK * 2 + 10);
        std::fs::write(&path, format!("{long}\nshort\n")).unwrap();
        let mut r = LineReader::new(File::open(&path).unwrap(), 0, 300);
        let mut lines = Vec::new();
        let mut truncated = 0;
        loop {
            let got = r.read().unwrap();
            truncated += got.truncated;
            lines.extend(got.lines);
            if got.at_end {
                break;
            }
        }
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, format!("{}{TRUNCATION_MARKER}", "x".repeat(300)));
        assert!(lines[0].truncated);
        assert_eq!(lines[1].text, "short");
        assert_eq!(lines[1].start, long.len() as u64 + 1);
        assert_eq!(truncated, 1);
    }

    #[test]
    fn restart_reads_from_the_new_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, "aaaa\nbb").unwrap();
        let mut r = LineReader::new(File::open(&path).unwrap(), 0, 1024);
        r.read().unwrap();
        std::fs::write(&path, "c\n").unwrap();
        r.restart_at(0);
        assert_eq!(texts(&r.read().unwrap()), ["c"]);
    }
}
