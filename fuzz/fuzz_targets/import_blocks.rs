//! Fuzzes the import block splitter (`ingest::file_blocks`): whatever the
//! bytes, block size and line limit, the blocks' own bytes are the input in
//! order; only the promised synthetic lines are added (a repeated `# TYPE`
//! line from earlier in the file, `# EOF` ending every OpenMetrics block but
//! the last); every block but the last ends at a line end; line numbers
//! map back to the file; a block stays within its memory bound; and a
//! "line too long" error names a line that really is too long (in the text
//! format, a line held open by a quote counts to its closing quote).

#![no_main]

use std::path::Path;

use belfry::ingest::IngestError;
use belfry::ingest::file_blocks::FileBlocks;
use belfry::exposition::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[flags, block, line], input)) = data.split_first_chunk::<3>() else {
        return;
    };
    let format = if flags & 1 == 0 {
        Format::PrometheusText
    } else {
        Format::OpenMetrics
    };
    let block_bytes = 1 + usize::from(block % 64);
    let max_line_bytes = 1 + usize::from(line) * 2;

    let mut splitter =
        FileBlocks::from_reader(input, Path::new("fuzz.prom"), format, block_bytes, max_line_bytes);
    let mut offset = 0usize;
    let mut next_line = 1usize;
    let mut previous_was_last = false;
    loop {
        let block = match splitter.next_block() {
            Ok(Some(block)) => block,
            Ok(None) => break,
            Err(IngestError::LineTooLong { line, limit, path }) => {
                assert_eq!(limit, max_line_bytes);
                assert_eq!(path.as_deref(), Some(Path::new("fuzz.prom")));
                assert_eq!(
                    line, next_line,
                    "the error names the first line not yet handed out"
                );
                let rest = &input[offset..];
                let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
                // In the text format an open quote carries the line on past
                // its `\n`.
                let quote_open = format == Format::PrometheusText
                    && memchr::memchr_iter(b'"', &rest[..len]).count() % 2 == 1;
                assert!(
                    len > max_line_bytes || (quote_open && rest.len() > max_line_bytes),
                    "line {line} has {len} bytes, within the limit {limit}"
                );
                return;
            }
            Err(other) => panic!("unexpected error from an in-memory reader: {other}"),
        };
        assert!(!previous_was_last, "a block after the last one");
        let body = block.body();
        assert_eq!(
            body,
            &input[offset..offset + body.len()],
            "the block's bytes are the file's, in order"
        );
        let last = offset + body.len() == input.len();
        if !last {
            assert!(body.ends_with(b"\n"), "a block but the last ends at a line end");
        }
        // Memory stays bounded: a block is at most a block plus the longest
        // allowed line (and the byte that tells whether the file ended).
        assert!(
            body.len() <= 2 * block_bytes + max_line_bytes + 1,
            "block of {} bytes (block {block_bytes}, line limit {max_line_bytes})",
            body.len()
        );
        let want_suffix: &[u8] = if format == Format::OpenMetrics && !last {
            b"# EOF\n"
        } else {
            b""
        };
        assert_eq!(block.suffix(), want_suffix);
        let prefix = block.prefix();
        if !prefix.is_empty() {
            assert!(prefix.starts_with(b"# TYPE ") && prefix.ends_with(b"\n"));
            assert_eq!(memchr::memchr_iter(b'\n', prefix).count(), 1);
            let earlier = &input[..offset];
            let is_earlier_line =
                memchr::memmem::find_iter(earlier, prefix).any(|at| at == 0 || earlier[at - 1] == b'\n');
            assert!(
                is_earlier_line,
                "the repeated TYPE line is a line from earlier in the file"
            );
        }

        assert_eq!(block.first_line(), next_line);
        let prefix_lines = usize::from(!prefix.is_empty());
        let mut line_start = block.prefix().len();
        for (k, line) in body.split(|&b| b == b'\n').enumerate() {
            let file_line = next_line + k;
            assert_eq!(block.file_line(prefix_lines + k + 1), file_line);
            if line.first().is_some_and(u8::is_ascii) {
                let part = std::str::from_utf8(&block.text[line_start..line_start + 1]).expect("ascii");
                assert_eq!(block.line_of(part), Some(file_line));
            }
            line_start += line.len() + 1;
        }
        next_line += memchr::memchr_iter(b'\n', body).count();
        offset += body.len();
        previous_was_last = last;
    }
    assert_eq!(offset, input.len(), "every byte was handed out");
});
