//! Why a template was refused at parse time or failed while running.

use super::func_error::FuncError;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template: line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("template: {0}")]
    Exec(String),
    /// A function (or a method with arguments) failed.
    #[error("template: error calling {name}: {source}")]
    Call {
        name: String,
        #[source]
        source: FuncError,
    },
    /// A method reached as a field (`.Labels.Remove`) failed.
    #[error("template: {0}")]
    Method(#[source] FuncError),
    #[error("template: output exceeds {0} bytes")]
    TooLarge(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_call_names_the_function() {
        let e = TemplateError::Call {
            name: "query".into(),
            source: FuncError::NoQuery,
        };
        assert_eq!(
            e.to_string(),
            "template: error calling query: query is not available here"
        );
        assert_eq!(
            TemplateError::Method(FuncError::FormatLayout).to_string(),
            "template: Format takes one layout string"
        );
    }
}
