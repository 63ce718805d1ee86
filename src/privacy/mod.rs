//! Privacy, shared by logs and errors: the keyed hash that turns a user id
//! into a stable token (`user_token.rs`, its key in `key.rs`), and the
//! scrubbers that remove secrets and personal data from text
//! (`scrubber.rs`, the built-in patterns in `builtin.rs`) and from JSON
//! values (`structured.rs`) before anything is stored; `setup.rs` builds
//! them together at start-up.

mod builtin;
mod error;
mod key;
mod luhn;
mod scrubber;
mod setup;
mod structured;
mod user_token;

pub use error::PrivacyError;
pub use key::{KEY_FILE_NAME, UserIdKey};
pub use luhn::luhn_valid;
pub use scrubber::{ScrubMetrics, Scrubber};
pub use setup::Privacy;
pub use user_token::{TOKEN_PREFIX, UserIdHasher};
