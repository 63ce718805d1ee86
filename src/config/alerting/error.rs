//! Why part of the `alerting:` section is invalid: a receiver's
//! integration, a time interval or an inhibit rule's matchers. The
//! receiver, interval or rule is named by the caller.

use crate::config::ProxyError;
use crate::model::{MatcherError, MatcherSyntaxError};

type AddressError = <lettre::message::Mailbox as std::str::FromStr>::Err;
type UrlError = <reqwest::Url as std::str::FromStr>::Err;

#[derive(Debug, thiserror::Error)]
pub enum AlertingConfigError {
    #[error("missing to address")]
    MissingTo,
    #[error("no global smtp_from set and no from in the email config")]
    NoFrom,
    #[error("no global smtp_smarthost set and no smarthost in the email config")]
    NoSmarthost,
    #[error("smarthost {0:?} must be host:port, e.g. smtp.example.org:587")]
    Smarthost(String),
    #[error("invalid from address {address:?}: {source}")]
    From {
        address: String,
        #[source]
        source: AddressError,
    },
    #[error("invalid to address {address:?}: {source}")]
    To {
        address: String,
        #[source]
        source: AddressError,
    },
    #[error("at most one of auth_password and auth_password_file must be configured")]
    PasswordTwice,
    #[error(
        "{key} is set, but CRAM-MD5, the only mechanism that uses it, is not supported; \
         authenticate with auth_password (PLAIN or LOGIN) instead"
    )]
    AuthSecret { key: &'static str },
    #[error(
        "{key} {identity:?} differs from the username: logging in as one user on behalf of \
         another (the SASL PLAIN authorization identity) is not supported; remove {key} or set \
         it to the username"
    )]
    AuthIdentity { key: &'static str, identity: String },
    #[error("duplicate header {0:?}")]
    DuplicateHeader(String),
    #[error("at most one of url and url_file must be configured")]
    UrlTwice,
    #[error("one of url or url_file must be configured")]
    NoUrl,
    #[error("invalid url {url:?}: {source}")]
    Url {
        url: String,
        #[source]
        source: UrlError,
    },
    #[error("url {0:?} must be http or https")]
    NotHttp(String),
    #[error("at most one of {0} and {1} must be configured")]
    Twice(&'static str, &'static str),
    #[error("one of {0} or {1} must be configured")]
    NoneOf(&'static str, &'static str),
    /// A required setting is missing; the message says which.
    #[error("{0}")]
    Required(&'static str),
    /// A URL that may hold a token, so its value is not shown.
    #[error("invalid {key}: {source}")]
    SecretUrl {
        key: &'static str,
        #[source]
        source: UrlError,
    },
    #[error("{0} must be an http or https URL")]
    SecretNotHttp(&'static str),
    #[error("unknown parse_mode {0:?}, must be Markdown, MarkdownV2, HTML or empty")]
    ParseMode(String),
    #[error("invalid chat_id {0:?}: an integer is required")]
    ChatId(String),
    #[error("{kind} is not supported by Belfry (supported integrations: {supported})")]
    UnsupportedIntegration {
        kind: &'static str,
        supported: &'static str,
    },
    #[error("http_config: {0}")]
    Proxy(#[from] ProxyError),
    #[error(
        "http_config: at most one of basic_auth, authorization and bearer_token(_file) must be configured"
    )]
    HttpAuthMethods,
    #[error(r#"http_config: authorization type cannot be "basic", use basic_auth"#)]
    HttpBasicAuthorization,
    #[error("http_config: at most one of basic_auth password and password_file")]
    HttpPasswordTwice,
    #[error("start_time {start:?} must be before end_time {end:?}")]
    TimesOutOfOrder { start: String, end: String },
    #[error("invalid time {0:?} (expected HH:MM between 00:00 and 24:00)")]
    Clock(String),
    #[error("invalid {what} {item:?}")]
    RangeItem { what: &'static str, item: String },
    #[error("days_of_month range {from}:{to} ends before it starts")]
    DaysOutOfOrder { from: i32, to: i32 },
    #[error("unknown location {0:?} (expected an IANA name like Europe/Berlin)")]
    Location(String),
    #[error("{0}")]
    MatcherSyntax(#[from] MatcherSyntaxError),
    #[error("{0}")]
    Matcher(#[from] MatcherError),
}

impl AlertingConfigError {
    /// The configuration key an error is about, where it names one.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            AlertingConfigError::AuthSecret { key } | AlertingConfigError::AuthIdentity { key, .. } => {
                Some(key)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quote_the_bad_value() {
        assert_eq!(
            AlertingConfigError::RangeItem {
                what: "weekday",
                item: "funday".into()
            }
            .to_string(),
            "invalid weekday \"funday\""
        );
        assert_eq!(
            AlertingConfigError::DaysOutOfOrder { from: 5, to: 3 }.to_string(),
            "days_of_month range 5:3 ends before it starts"
        );
    }
}
