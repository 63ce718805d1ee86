//! Why a configuration was refused. Every variant names the file (origin)
//! and, where known, the line and column.

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
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
    #[error(
        "{origin}:{line}:{column}: environment variable {name} is not set (referenced as ${{{name}}}; \
         write $${{{name}}} for a literal)"
    )]
    UnsetVariable {
        origin: String,
        line: usize,
        column: usize,
        name: String,
    },
}

impl ConfigError {
    /// A semantic error at `position` (line, column) when its place in the
    /// file could be found, else without one.
    pub fn located(origin: &str, position: Option<(usize, usize)>, message: String) -> ConfigError {
        let origin = origin.to_string();
        match position {
            Some((line, column)) => ConfigError::At {
                origin,
                line,
                column,
                message,
            },
            None => ConfigError::Invalid { origin, message },
        }
    }
}
