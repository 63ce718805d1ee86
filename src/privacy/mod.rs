//! Privacy, shared by logs and errors: the keyed hash that turns a user id
//! into a stable token (`user_token.rs`, its key in `key.rs`), and the
//! scrubbers that remove secrets and personal data from text
//! (`scrubber.rs`, the built-in patterns in `builtin.rs`) and from JSON
//! values (`structured.rs`) — or JSON text, without parsing it into
//! values (`json_text.rs`) — before anything is stored; user ids written
//! inside text (`user_id_text.rs`, the names in `user_id_names.rs`) get
//! the same tokens; `setup.rs` builds them together at start-up.

mod builtin;
mod error;
mod json_text;
mod key;
mod luhn;
mod scrubber;
mod setup;
mod structured;
mod user_id_names;
mod user_id_text;
mod user_token;

pub use error::PrivacyError;
pub use json_text::{JsonTextError, object_members};
pub use key::{KEY_FILE_NAME, UserIdKey};
pub use luhn::luhn_valid;
pub use scrubber::{ScrubMetrics, Scrubber};
pub use setup::Privacy;
pub use user_id_names::{USER_ID_NAMES, names_a_user_id};
pub use user_id_text::UserIdsInText;
pub use user_token::{TOKEN_PREFIX, UserIdHasher};
