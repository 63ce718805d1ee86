//! One tailed file: its reader, the Docker partial-line joiner and the
//! multi-line joiner its format and configuration call for, and the
//! offset up to which everything read has been handed on as records.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Instant;

use super::discovery::FileId;
use super::docker::{PartialJoiner, parse_docker_line};
use super::line::FileLine;
use super::metrics::FilesMetrics;
use super::multiline::Multiline;
use super::reader::{LineReader, Read};
use crate::config::{FileFormat, FileSourceConfig};

pub struct Tailer {
    pub id: FileId,
    pub path: PathBuf,
    /// Index of its `logs.files` entry.
    pub source: usize,
    reader: LineReader,
    docker: Option<PartialJoiner>,
    multiline: Option<Multiline>,
    /// Offset just after the last line handed to the joiners or out.
    fed_end: u64,
    /// The offset last written to `state.redb`.
    pub saved: Option<u64>,
    /// The offset it was opened at.
    pub initial: u64,
    /// Since when no glob matches it any more (renamed away, deleted).
    pub gone_since: Option<Instant>,
    /// An error was logged and not yet followed by a good read.
    pub failing: bool,
}

impl Tailer {
    pub fn open(
        id: FileId,
        path: PathBuf,
        source: usize,
        config: &FileSourceConfig,
        offset: u64,
    ) -> std::io::Result<Tailer> {
        let file = File::open(&path)?;
        let meta = file.metadata()?;
        // The name may point at another file already; what counts is what
        // was opened.
        if FileId::of(&meta) != id {
            return Err(std::io::Error::other(
                "the file was replaced while it was being opened",
            ));
        }
        let max_line = usize::try_from(config.max_line_bytes.0).unwrap_or(usize::MAX);
        let multiline = match &config.multiline {
            Some(c) => Some(Multiline::new(c).map_err(std::io::Error::other)?),
            None => None,
        };
        Ok(Tailer {
            id,
            path,
            source,
            reader: LineReader::new(file, offset, max_line),
            docker: (config.format == FileFormat::Docker).then(|| PartialJoiner::new(max_line)),
            multiline,
            fed_end: offset,
            saved: None,
            initial: offset,
            gone_since: None,
            failing: false,
        })
    }

    /// Restarts at 0 when the file is now shorter than what was read
    /// (copytruncate); what was held is handed on first. True when it did.
    pub fn check_truncated(&mut self, now: Instant, out: &mut Vec<FileLine>) -> std::io::Result<bool> {
        let size = self.reader.file().metadata()?.size();
        if size >= self.reader.offset() {
            return Ok(false);
        }
        self.drain_held(now, out);
        self.reader.restart_at(0);
        self.fed_end = 0;
        Ok(true)
    }

    pub fn read(&mut self) -> std::io::Result<Read> {
        self.reader.read()
    }

    /// Hands one line through the joiners; finished records go to `out`.
    pub fn feed(&mut self, line: FileLine, now: Instant, out: &mut Vec<FileLine>, m: &FilesMetrics) {
        self.fed_end = line.end;
        let line = match &mut self.docker {
            None => line,
            Some(joiner) => match parse_docker_line(&line.text) {
                Ok(part) => match joiner.push(part, line.start, line.end) {
                    None => return,
                    Some(joined) => FileLine {
                        text: joined.line.log,
                        start: joined.start,
                        end: joined.end,
                        time_ns: joined.line.time_ns,
                        stream: Some(joined.line.stream).filter(|s| !s.is_empty()),
                        truncated: joined.truncated || line.truncated,
                    },
                },
                Err(_) => {
                    m.malformed.inc();
                    line
                }
            },
        };
        match &mut self.multiline {
            None => out.push(line),
            Some(ml) => {
                let pushed = ml.push(line, now);
                if pushed.cut {
                    m.multiline_cut.inc();
                }
                out.extend(pushed.done);
            }
        }
    }

    /// A multi-line record that waited long enough.
    pub fn flush_due(&mut self, now: Instant, out: &mut Vec<FileLine>) {
        if let Some(ml) = &mut self.multiline {
            out.extend(ml.flush_due(now));
        }
    }

    /// The file will not grow any more: everything held is handed on.
    pub fn finish(&mut self, now: Instant, out: &mut Vec<FileLine>, m: &FilesMetrics) {
        if let Some(last) = self.reader.finish() {
            self.feed(last, now, out, m);
        }
        self.drain_held(now, out);
    }

    fn drain_held(&mut self, now: Instant, out: &mut Vec<FileLine>) {
        let parts = self
            .docker
            .as_mut()
            .map(PartialJoiner::take_all)
            .unwrap_or_default();
        for joined in parts {
            let line = FileLine {
                text: joined.line.log,
                start: joined.start,
                end: joined.end,
                time_ns: joined.line.time_ns,
                stream: Some(joined.line.stream).filter(|s| !s.is_empty()),
                truncated: joined.truncated,
            };
            match &mut self.multiline {
                None => out.push(line),
                Some(ml) => out.extend(ml.push(line, now).done),
            }
        }
        if let Some(ml) = &mut self.multiline {
            out.extend(ml.take());
        }
    }

    /// The offset below which every record has been handed on: where a
    /// restart must read from so that nothing is lost or repeated.
    pub fn safe_offset(&self) -> u64 {
        let held = [
            self.docker.as_ref().and_then(PartialJoiner::held_start),
            self.multiline.as_ref().and_then(Multiline::held_start),
        ];
        held.into_iter().flatten().fold(self.fed_end, u64::min)
    }
}
