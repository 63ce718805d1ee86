//! Why a YAML file was refused: it could not be read, or it is wrong at
//! `FILE:LINE:COLUMN`, or wrong in a place that could not be found. Shared
//! by the configuration file and rule files, which read and locate their
//! errors the same way.

use std::fmt;

/// Which kind of file was refused, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Config,
    Rule,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Config => "config",
            FileKind::Rule => "rule",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {kind} file {path}: {source}")]
    Read {
        kind: FileKind,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Bad YAML, an unknown key or a bad value.
    #[error("{origin}:{line}:{column}: {message}")]
    At {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A semantic error whose place in the file is not known.
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

impl FileError {
    /// A semantic error at `position` (line, column) when its place in the
    /// file could be found, else without one.
    pub fn located(origin: &str, position: Option<(usize, usize)>, message: String) -> FileError {
        let origin = origin.to_string();
        match position {
            Some((line, column)) => FileError::At {
                origin,
                line,
                column,
                message,
            },
            None => FileError::Invalid { origin, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_place() {
        let at = FileError::located("a.yml", Some((3, 7)), "bad value".into());
        assert_eq!(at.to_string(), "a.yml:3:7: bad value");
        let nowhere = FileError::located("a.yml", None, "bad value".into());
        assert_eq!(nowhere.to_string(), "a.yml: bad value");
        let read = |kind| FileError::Read {
            kind,
            path: "x.yml".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone"),
        };
        assert_eq!(
            read(FileKind::Config).to_string(),
            "cannot read config file x.yml: gone"
        );
        assert_eq!(
            read(FileKind::Rule).to_string(),
            "cannot read rule file x.yml: gone"
        );
    }
}
