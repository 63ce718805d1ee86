//! A validation failure of the `alerting:` section, with a snippet of the
//! file near where it is, which `locate.rs` turns into a line and column.

/// A validation failure and a snippet of the file near where it is.
#[derive(Debug)]
pub(crate) struct Invalid {
    pub message: String,
    pub near: Option<String>,
}

impl Invalid {
    pub fn near(message: String, near: &str) -> Self {
        Invalid {
            message,
            near: Some(near.to_string()),
        }
    }
}
