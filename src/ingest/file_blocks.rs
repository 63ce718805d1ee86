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
//!
//! In the text format a quoted label value may hold a raw line break (as
//! Prometheus allows), so there a line ends only at a `\n` outside quotes;
//! cutting inside the quotes would make the result depend on the block
//! size.
//!
//! Public (hidden) only so the fuzz crate can check these promises.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::exposition::Format;

use super::error::IngestError;

/// Ends every OpenMetrics block but the last.
const SYNTHETIC_EOF: &[u8] = b"# EOF\n";

/// One block of the file, ready for the parser.
#[derive(Debug)]
pub struct Block {
    /// The synthetic prefix, the file's bytes, the synthetic suffix.
    pub text: Vec<u8>,
    /// File line number of the first line after the synthetic prefix.
    first_line: usize,
    /// Synthetic lines at the start of `text` (0 or 1).
    prefix_lines: usize,
    /// Bytes of the synthetic prefix and suffix around the file's bytes.
    prefix_bytes: usize,
    suffix_bytes: usize,
}

impl Block {
    /// The file's bytes in this block, without synthetic lines.
    pub fn body(&self) -> &[u8] {
        &self.text[self.prefix_bytes..self.text.len() - self.suffix_bytes]
    }

    /// The synthetic `# TYPE` line repeated from an earlier block, if any.
    pub fn prefix(&self) -> &[u8] {
        &self.text[..self.prefix_bytes]
    }

    /// The synthetic `# EOF` line, if any.
    pub fn suffix(&self) -> &[u8] {
        &self.text[self.text.len() - self.suffix_bytes..]
    }

    /// File line number of the body's first line.
    pub fn first_line(&self) -> usize {
        self.first_line
    }

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

/// Splits what `reader` yields into blocks; `path` names it in errors.
pub struct FileBlocks<R = File> {
    reader: R,
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
        Ok(FileBlocks::from_reader(
            file,
            path,
            format,
            block_bytes,
            max_line_bytes,
        ))
    }
}

impl<R: Read> FileBlocks<R> {
    pub fn from_reader(
        reader: R,
        path: &Path,
        format: Format,
        block_bytes: usize,
        max_line_bytes: usize,
    ) -> Self {
        FileBlocks {
            reader,
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
        }
    }

    /// Reads until `pending` holds `target` bytes or the file ends.
    fn fill(&mut self, target: usize) -> Result<(), IngestError> {
        if self.eof || self.pending.len() >= target {
            return Ok(());
        }
        let want = (target - self.pending.len()) as u64;
        let n = (&mut self.reader)
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
            let (last_nl, family_start) = self.scan_lines();
            let Some(last_nl) = last_nl else {
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
            let (cut, mid_family) = self.choose_cut(last_nl, family_start);
            let rest = self.pending.split_off(cut);
            let taken = std::mem::replace(&mut self.pending, rest);
            return Ok(Some(self.make_block(taken, false, mid_family)));
        }
    }

    /// The last line end in `pending`, and the start of the last complete
    /// `# HELP`/`# TYPE` line after a line end.
    fn scan_lines(&self) -> (Option<usize>, Option<usize>) {
        let mut last_nl = None;
        let mut family_start = None;
        // A family line counts once the line end after it is seen.
        let mut candidate = None;
        for nl in LineEnds::new(&self.pending, self.format) {
            if let Some(start) = candidate.take() {
                family_start = Some(start);
            }
            last_nl = Some(nl);
            let next = &self.pending[nl + 1..];
            if next.starts_with(b"# HELP ") || next.starts_with(b"# TYPE ") {
                candidate = Some(nl + 1);
            }
        }
        (last_nl, family_start)
    }

    /// Where to end the block: before the last `# HELP`/`# TYPE` line in the
    /// latter three quarters, else after the last complete line.
    fn choose_cut(&self, last_nl: usize, family_start: Option<usize>) -> (usize, bool) {
        let from = self.pending.len() / 4;
        match family_start {
            Some(start) if start > from => (start, false),
            _ => (last_nl + 1, true),
        }
    }

    fn make_block(&mut self, body: Vec<u8>, last: bool, cut_mid_family: bool) -> Block {
        let prefix = self.next_prefix.take();
        let prefix_lines = usize::from(prefix.is_some());
        let prefix_bytes = prefix.as_ref().map_or(0, Vec::len);
        let mut text = Vec::with_capacity(body.len() + prefix.as_ref().map_or(0, Vec::len) + 8);
        if let Some(p) = &prefix {
            text.extend_from_slice(p);
        }
        text.extend_from_slice(&body);
        if let Some(line) = last_type_line(&body, self.format) {
            self.type_line = Some(line.to_vec());
        }
        if cut_mid_family {
            self.next_prefix = self.type_line.clone();
        }
        let mut suffix_bytes = 0;
        if !last && self.format == Format::OpenMetrics {
            text.extend_from_slice(SYNTHETIC_EOF);
            suffix_bytes = SYNTHETIC_EOF.len();
        }
        let block = Block {
            text,
            first_line: self.next_line,
            prefix_lines,
            prefix_bytes,
            suffix_bytes,
        };
        self.next_line += memchr::memchr_iter(b'\n', &body).count();
        block
    }
}

/// The last `# TYPE ...\n` line of `body`.
fn last_type_line(body: &[u8], format: Format) -> Option<&[u8]> {
    let starts = std::iter::once(0).chain(LineEnds::new(body, format).map(|nl| nl + 1));
    let start = starts.filter(|&s| body[s..].starts_with(b"# TYPE ")).last()?;
    let end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |e| start + e + 1);
    Some(&body[start..end])
}

/// The positions of the line ends (`\n`) in `buf`, which starts at a line
/// start. In the text format a `\n` inside a sample line's quotes does not
/// end the line; comment lines end at their first `\n`. OpenMetrics forbids
/// line breaks in quotes, so there every `\n` ends a line.
struct LineEnds<'a> {
    buf: &'a [u8],
    pos: usize,
    quotes_span_lines: bool,
}

impl<'a> LineEnds<'a> {
    fn new(buf: &'a [u8], format: Format) -> Self {
        LineEnds {
            buf,
            pos: 0,
            quotes_span_lines: format == Format::PrometheusText,
        }
    }

    fn find_end(&self) -> Option<usize> {
        let buf = self.buf;
        let mut i = self.pos;
        if self.quotes_span_lines {
            while let Some(b' ' | b'\t') = buf.get(i) {
                i += 1;
            }
        }
        if !self.quotes_span_lines || buf.get(i) == Some(&b'#') {
            return memchr::memchr(b'\n', &buf[i..]).map(|e| i + e);
        }
        let mut in_quotes = false;
        loop {
            let at = i + memchr::memchr3(b'"', b'\\', b'\n', &buf[i..])?;
            match buf[at] {
                b'\n' if !in_quotes => return Some(at),
                b'"' => in_quotes = !in_quotes,
                // An escape inside quotes: the next byte is taken as is.
                b'\\' if in_quotes => {
                    i = (at + 2).min(buf.len());
                    continue;
                }
                _ => {}
            }
            i = at + 1;
        }
    }
}

impl Iterator for LineEnds<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let Some(end) = self.find_end() else {
            self.pos = self.buf.len();
            return None;
        };
        self.pos = end + 1;
        Some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn blocks(
        input: &[u8],
        format: Format,
        block_bytes: usize,
        max_line: usize,
    ) -> Result<Vec<Block>, IngestError> {
        let mut splitter =
            FileBlocks::from_reader(input, Path::new("in.prom"), format, block_bytes, max_line);
        let mut out = Vec::new();
        while let Some(block) = splitter.next_block()? {
            out.push(block);
        }
        Ok(out)
    }

    fn bodies(blocks: &[Block]) -> Vec<u8> {
        blocks.iter().flat_map(|b| b.body().to_vec()).collect()
    }

    #[test]
    fn small_input_is_one_block_as_is() {
        let input = b"# TYPE a gauge\na 1\n";
        let got = blocks(input, Format::OpenMetrics, 1 << 20, 1 << 20).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, input);
        assert!(got[0].prefix().is_empty() && got[0].suffix().is_empty());
        assert_eq!(got[0].first_line(), 1);
    }

    #[test]
    fn empty_input_is_one_empty_block() {
        let got = blocks(b"", Format::PrometheusText, 16, 16).unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0].text.is_empty());
    }

    #[test]
    fn cuts_before_a_family_without_repeating_its_type() {
        let input = b"# TYPE a gauge\na 1\na 2\n# TYPE b gauge\nb 1\n";
        // 40 bytes reach into `b 1`: the cut falls before `# TYPE b`.
        let got = blocks(input, Format::PrometheusText, 40, 1 << 20).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, b"# TYPE a gauge\na 1\na 2\n");
        assert_eq!(got[1].text, b"# TYPE b gauge\nb 1\n");
        assert_eq!(got[1].first_line(), 4);
    }

    #[test]
    fn a_cut_inside_a_family_repeats_its_type_line() {
        let input = b"# TYPE a counter\na_total 1\na_total 2\na_total 3\n";
        let got = blocks(input, Format::PrometheusText, 30, 1 << 20).unwrap();
        assert!(got.len() >= 2, "{}", got.len());
        assert!(got[0].prefix().is_empty());
        for block in &got[1..] {
            assert_eq!(block.prefix(), b"# TYPE a counter\n");
            // The parser's line 2 is the block's first file line.
            assert_eq!(block.file_line(2), block.first_line());
        }
        assert_eq!(bodies(&got), input);
    }

    #[test]
    fn openmetrics_blocks_but_the_last_end_in_a_synthetic_eof() {
        let input = b"# TYPE a gauge\na 1 1\na 2 2\na 3 3\na 4 4\n# EOF\n";
        let got = blocks(input, Format::OpenMetrics, 12, 1 << 20).unwrap();
        assert!(got.len() >= 3, "{}", got.len());
        let (last, rest) = got.split_last().unwrap();
        for block in rest {
            assert_eq!(block.suffix(), b"# EOF\n");
            assert!(block.text.ends_with(b"# EOF\n"));
        }
        assert!(last.suffix().is_empty());
        assert!(last.text.ends_with(b"a 4 4\n# EOF\n"));
        assert_eq!(bodies(&got), input);
    }

    #[test]
    fn a_cut_exactly_at_the_end_adds_no_eof() {
        // The first read ends on the file's last newline.
        let input = b"a 1 1\n";
        let got = blocks(input, Format::OpenMetrics, input.len(), 1 << 20).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text, input);
    }

    #[test]
    fn text_blocks_get_no_eof() {
        let input = b"a 1\nb 2\nc 3\nd 4\n";
        let got = blocks(input, Format::PrometheusText, 4, 1 << 20).unwrap();
        assert!(got.len() >= 3);
        assert!(got.iter().all(|b| b.suffix().is_empty()));
        assert_eq!(bodies(&got), input);
    }

    #[test]
    fn an_overlong_line_is_an_error_naming_it() {
        let input = b"ok 1\nok 2\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx 3\n";
        let err = blocks(input, Format::PrometheusText, 8, 20).unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::LineTooLong {
                    line: 3,
                    limit: 20,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("in.prom"), "{err}");
    }

    #[test]
    fn a_long_line_within_the_limit_passes() {
        let long = format!("m{{a=\"{}\"}} 1\n", "v".repeat(100));
        let got = blocks(long.as_bytes(), Format::PrometheusText, 8, 1000).unwrap();
        assert_eq!(bodies(&got), long.as_bytes());
    }

    #[test]
    fn line_of_finds_borrowed_parts_only() {
        let input = b"a 1\nb 2\nc 3\n";
        let got = blocks(input, Format::PrometheusText, 1 << 20, 1 << 20).unwrap();
        let block = &got[0];
        let text = std::str::from_utf8(&block.text).unwrap();
        assert_eq!(block.line_of(&text[8..9]), Some(3));
        assert_eq!(block.line_of(&text[0..1]), Some(1));
        assert_eq!(block.line_of("c"), None, "a copy lies on no line");
        assert_eq!(block.line_of(&text[0..0]), None);
    }

    /// The samples (name, labels, value) the parser reads from the blocks.
    fn parse_blocks(got: &[Block], format: Format) -> Vec<String> {
        let mut out = Vec::new();
        for block in got {
            for entry in crate::exposition::Parser::new(&block.text, format) {
                if let crate::exposition::Entry::Sample(s) = entry.unwrap() {
                    out.push(format!("{} {:?} {}", s.name, s.labels, s.value));
                }
            }
        }
        out
    }

    #[test]
    fn text_format_cuts_never_fall_inside_quotes() {
        // Found by the `import` fuzz target: the text format (as Prometheus)
        // allows a raw line break in a label value, and a cut there made
        // the import fail, or a quoted `# TYPE` look like a family.
        let input = "a{x=\"1\n# TYPE b gauge\n2\",y=\"\\\"\n\"} 1 1000\nb 2 1000\n";
        let format = Format::PrometheusText;
        let want = parse_blocks(
            &blocks(input.as_bytes(), format, 1 << 20, 1 << 20).unwrap(),
            format,
        );
        assert_eq!(want.len(), 2, "{want:?}");
        assert!(want[0].contains("# TYPE b gauge"), "{want:?}");
        for block_bytes in 1..input.len() {
            let got = blocks(input.as_bytes(), format, block_bytes, 1 << 20).unwrap();
            assert_eq!(bodies(&got), input.as_bytes());
            assert!(
                got.iter().all(|b| b.prefix().is_empty()),
                "block_bytes {block_bytes}"
            );
            assert_eq!(parse_blocks(&got, format), want, "block_bytes {block_bytes}");
        }
    }

    #[test]
    fn openmetrics_cuts_at_every_line_end() {
        // OpenMetrics forbids line breaks in quotes, so a quote does not
        // hold a line open (the parser reports the break).
        let input = b"a{x=\"1\nb 1 1\n";
        let got = blocks(input, Format::OpenMetrics, 4, 1 << 20).unwrap();
        assert_eq!(got[0].body(), b"a{x=\"1\n");
    }

    #[test]
    fn an_open_quote_holds_the_line_until_the_limit() {
        let input = b"ok 1\nm{a=\"never closed\nmore\nmore\nmore\n";
        let err = blocks(input, Format::PrometheusText, 4, 16).unwrap_err();
        assert!(matches!(err, IngestError::LineTooLong { line: 2, .. }), "{err}");
    }

    /// Lines of an exposition-like file: metadata, samples, blanks.
    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-c]{1,3}".prop_map(|f| format!("# TYPE {f} counter")),
            "[a-c]{1,3}".prop_map(|f| format!("# HELP {f} help text")),
            ("[a-c]{1,3}", 0..100u32).prop_map(|(m, v)| format!("{m} {v}")),
            Just(String::new()),
            "[ -~]{0,40}",
        ]
    }

    proptest! {
        #[test]
        fn blocks_hold_the_file_in_order_and_map_its_lines(
            lines in prop::collection::vec(line(), 0..40),
            trailing_newline in any::<bool>(),
            block_bytes in 1usize..64,
            openmetrics in any::<bool>(),
        ) {
            let mut input = lines.join("\n");
            if trailing_newline && !input.is_empty() {
                input.push('\n');
            }
            let format = if openmetrics { Format::OpenMetrics } else { Format::PrometheusText };
            let got = blocks(input.as_bytes(), format, block_bytes, 1 << 20).unwrap();
            prop_assert_eq!(bodies(&got), input.as_bytes());
            let mut line = 1;
            for (i, block) in got.iter().enumerate() {
                let last = i + 1 == got.len();
                prop_assert_eq!(block.first_line(), line);
                if !last {
                    prop_assert!(block.body().ends_with(b"\n"));
                    prop_assert_eq!(block.suffix(), if openmetrics { &b"# EOF\n"[..] } else { b"" });
                } else {
                    prop_assert!(block.suffix().is_empty());
                }
                let prefix = block.prefix();
                prop_assert!(prefix.is_empty() || (prefix.starts_with(b"# TYPE ") && prefix.ends_with(b"\n")));
                let prefix_lines = usize::from(!prefix.is_empty());
                let body_lines = block.body().split(|&b| b == b'\n').count();
                for k in 1..=body_lines {
                    prop_assert_eq!(block.file_line(prefix_lines + k), line + k - 1);
                }
                line += memchr::memchr_iter(b'\n', block.body()).count();
            }
        }
    }
}
