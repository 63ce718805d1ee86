//! Why a configuration was refused. Every variant names the file (origin)
//! and, where known, the line and column.

use super::FileError;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] FileError),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_variable_names_the_place_and_the_escape() {
        let e = ConfigError::UnsetVariable {
            origin: "c.yml".into(),
            line: 2,
            column: 5,
            name: "PORT".into(),
        };
        assert_eq!(
            e.to_string(),
            "c.yml:2:5: environment variable PORT is not set (referenced as ${PORT}; write $${PORT} for a literal)"
        );
        let file = ConfigError::from(FileError::located("c.yml", Some((1, 1)), "bad".into()));
        assert_eq!(file.to_string(), "c.yml:1:1: bad");
    }
}
