//! Reads a large exposition file in blocks the parser can take one at a
//! time, so `belfry import` needs memory for one block, not the file.
//!
//! A block ends at a line end, preferably just before a `# HELP` or
//! `# TYPE` line (a family boundary). When a family is longer than a block,
//! the cut falls inside it and the family's last `# TYPE` line is repeated
//! at the start of the next block, so the parser still knows the type
//! (OpenMetrics skips `_created` samples and checks suffixes by type).
//! Every OpenMetrics block but the last gets a synthetic `# EOF` line; the
//! last must carry the file's own. Line numbers map back to the file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use memchr::memmem;

use crate::scrape::parse::Format;

use super::error::IngestError;

/// One block of the file, ready for the parser.
pub(crate) struct Block {
    pub text: Vec<u8>,
    /// File line number of the first line after the synthetic prefix.
    first_line: usize,
    /// Synthetic lines at the start of `text` (0 or 1).
    prefix_lines: usize,
}

impl Block {
    /// The file line of the parser's (1-based) `line` in this block.
    pub fn file_line(&self, line: usize) -> usize {
        self.first_line + line.saturating_sub(self.prefix_lines + 1)
    }

    /// The file line on which `part` (a slice the parser borrowed from
    /// `text`) lies, or `None` if it is a copy.
    pub fn line_of(&self, part: &str) -> Option<usize> {
        let start = self.text.as_ptr() as usize;
        let at = part.as_ptr() as usize;
        if part.is_empty() || at < start || at >= start + self.text.len() {
            return None;
        }
        let offset = at - start;
        let line = memchr::memchr_iter(b'\n', &self.text[..offset]).count() + 1;
        Some(self.file_line(line))
    }
}

pub(crate) struct FileBlocks {
    file: File,
    path: PathBuf,
    format: Format,
    block_bytes: usize,
    max_line_bytes: usize,
    /// Read but not yet handed out.
    pending: Vec<u8>,
    /// File line number of `pending[0]`.
    next_line: usize,
    /// The last `# TYPE` line handed out, with its newline.
    type_line: Option<Vec<u8>>,
    /// What the next block starts with when the cut fell inside a family.
    next_prefix: Option<Vec<u8>>,
    eof: bool,
    done: bool,
}

impl FileBlocks {
    pub fn open(
        path: &Path,
        format: Format,
        block_bytes: usize,
        max_line_bytes: usize,
    ) -> Result<Self, IngestError> {
        let file = File::open(path).map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(FileBlocks {
            file,
            path: path.to_path_buf(),
            format,
            block_bytes: block_bytes.max(1),
            max_line_bytes,
            pending: Vec::new(),
            next_line: 1,
            type_line: None,
            next_prefix: None,
            eof: false,
            done: false,
        })
    }

    /// Reads until `pending` holds `target` bytes or the file ends.
    fn fill(&mut self, target: usize) -> Result<(), IngestError> {
        if self.eof || self.pending.len() >= target {
            return Ok(());
        }
        let want = (target - self.pending.len()) as u64;
        let n = (&mut self.file)
            .take(want)
            .read_to_end(&mut self.pending)
            .map_err(|source| IngestError::Io {
                path: self.path.clone(),
                source,
            })?;
        if (n as u64) < want {
            self.eof = true;
        }
        Ok(())
    }

    pub fn next_block(&mut self) -> Result<Option<Block>, IngestError> {
        if self.done {
            return Ok(None);
        }
        let mut target = self.block_bytes;
        loop {
            self.fill(target)?;
            if self.eof {
                self.done = true;
                let rest = std::mem::take(&mut self.pending);
                return Ok(Some(self.make_block(rest, true, false)));
            }
            let Some(last_nl) = memchr::memrchr(b'\n', &self.pending) else {
                if self.pending.len() > self.max_line_bytes {
                    return Err(IngestError::LineTooLong {
                        path: Some(self.path.clone()),
                        line: self.next_line,
                        limit: self.max_line_bytes,
                    });
                }
                target = self.pending.len() + self.block_bytes;
                continue;
            };
            if last_nl + 1 == self.pending.len() {
                // Nothing after the cut yet: this may be the file's end, and
                // the last block must not get a synthetic `# EOF`.
                target = self.pending.len() + 1;
                self.fill(target)?;
                if self.eof {
                    continue;
                }
            }
            let (cut, mid_family) = self.choose_cut(last_nl);
            let rest = self.pending.split_off(cut);
            let taken = std::mem::replace(&mut self.pending, rest);
            return Ok(Some(self.make_block(taken, false, mid_family)));
        }
    }

    /// Where to end the block: before the last `# HELP`/`# TYPE` line in the
    /// latter three quarters, else after the last complete line.
    fn choose_cut(&self, last_nl: usize) -> (usize, bool) {
        let from = self.pending.len() / 4;
        if from > last_nl {
            return (last_nl + 1, true);
        }
        let window = &self.pending[from..=last_nl];
        let boundary = [&b"\n# HELP "[..], b"\n# TYPE "]
            .iter()
            .filter_map(|needle| memmem::rfind(window, needle))
            .max();
        match boundary {
            Some(at) => (from + at + 1, false),
            None => (last_nl + 1, true),
        }
    }

    fn make_block(&mut self, body: Vec<u8>, last: bool, cut_mid_family: bool) -> Block {
        let prefix = self.next_prefix.take();
        let prefix_lines = usize::from(prefix.is_some());
        let mut text = Vec::with_capacity(body.len() + prefix.as_ref().map_or(0, Vec::len) + 8);
        if let Some(p) = &prefix {
            text.extend_from_slice(p);
        }
        text.extend_from_slice(&body);
        if let Some(line) = last_type_line(&body) {
            self.type_line = Some(line.to_vec());
        }
        if cut_mid_family {
            self.next_prefix = self.type_line.clone();
        }
        if !last && self.format == Format::OpenMetrics {
            text.extend_from_slice(b"# EOF\n");
        }
        let block = Block {
            text,
            first_line: self.next_line,
            prefix_lines,
        };
        self.next_line += memchr::memchr_iter(b'\n', &body).count();
        block
    }
}

/// The last `# TYPE ...\n` line of `body`.
fn last_type_line(body: &[u8]) -> Option<&[u8]> {
    let start = match memmem::rfind(body, b"\n# TYPE ") {
        Some(at) => at + 1,
        None if body.starts_with(b"# TYPE ") => 0,
        None => return None,
    };
    let end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |e| start + e + 1);
    Some(&body[start..end])
}
