//! The HMAC key for user ids: from the configuration when set, else the
//! one generated into the data directory on first start. The file is read
//! on every later start and never silently replaced, because a new key
//! maps every user to a new token.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Secret;

use super::PrivacyError;

/// Beside the stores in the data directory.
pub const KEY_FILE_NAME: &str = "privacy.key";

/// HMAC-SHA256's block-sized keys are 64 bytes; 32 random bytes already
/// carry the hash's full 256-bit strength.
const GENERATED_KEY_BYTES: usize = 32;

#[derive(Clone, PartialEq, Eq)]
pub struct UserIdKey(Vec<u8>);

impl fmt::Debug for UserIdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::config::REDACTED)
    }
}

impl UserIdKey {
    /// A configured key is used as its bytes, so any string an operator
    /// keeps in a secret store works unchanged (config validation refuses
    /// short ones).
    pub fn from_secret(secret: &Secret) -> Self {
        UserIdKey(secret.expose().as_bytes().to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The configured key, else `<data_dir>/privacy.key`, created (0600)
    /// when absent. Blocking file I/O: call it at start-up, or from
    /// `spawn_blocking`.
    pub fn load_or_create(configured: Option<&Secret>, data_dir: &Path) -> Result<Self, PrivacyError> {
        if let Some(secret) = configured {
            return Ok(Self::from_secret(secret));
        }
        let path = data_dir.join(KEY_FILE_NAME);
        match fs::read(&path) {
            Ok(bytes) => parse_key_file(&bytes).map_err(|reason| PrivacyError::MalformedKey { path, reason }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(data_dir, &path),
            Err(source) => Err(PrivacyError::ReadKey { path, source }),
        }
    }
}

/// 64 hex digits and an optional line end, as `create_key_file` writes
/// them and as `openssl rand -hex 32 > privacy.key` does.
fn parse_key_file(bytes: &[u8]) -> Result<UserIdKey, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not text".to_string())?;
    let digits = text.strip_suffix('\n').unwrap_or(text);
    let digits = digits.strip_suffix('\r').unwrap_or(digits);
    if digits.len() != GENERATED_KEY_BYTES * 2 {
        return Err(format!(
            "expected {} hex digits, found {} characters",
            GENERATED_KEY_BYTES * 2,
            digits.len()
        ));
    }
    let mut key = Vec::with_capacity(GENERATED_KEY_BYTES);
    for pair in digits.as_bytes().chunks_exact(2) {
        let (Some(hi), Some(lo)) = (hex_value(pair[0]), hex_value(pair[1])) else {
            return Err("not hexadecimal".to_string());
        };
        key.push(hi << 4 | lo);
    }
    Ok(UserIdKey(key))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Written to a temporary file and renamed into place, so a crash while
/// writing leaves no half key behind (which the next start would refuse).
fn create_key_file(data_dir: &Path, path: &Path) -> Result<UserIdKey, PrivacyError> {
    let write_err = |source| PrivacyError::WriteKey {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(data_dir).map_err(write_err)?;
    let key: [u8; GENERATED_KEY_BYTES] = rand::random();
    let mut text = String::with_capacity(GENERATED_KEY_BYTES * 2 + 1);
    for b in key {
        text.push_str(&format!("{b:02x}"));
    }
    text.push('\n');
    let tmp: PathBuf = data_dir.join(format!("{KEY_FILE_NAME}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(write_err)?;
    file.write_all(text.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    fs::rename(&tmp, path).map_err(write_err)?;
    if let Ok(dir) = fs::File::open(data_dir) {
        // The rename is durable only once the directory is; a failure here
        // is not worth refusing to start over.
        let _ = dir.sync_all();
    }
    tracing::info!(path = %path.display(), "generated a new user id key");
    Ok(UserIdKey(key.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let first = UserIdKey::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.as_bytes().len(), 32);
        let path = dir.path().join(KEY_FILE_NAME);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!dir.path().join("privacy.key.tmp").exists());
        let second = UserIdKey::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn configured_key_wins_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let key =
            UserIdKey::load_or_create(Some(&Secret::new("a configured key, long")), dir.path()).unwrap();
        assert_eq!(key.as_bytes(), b"a configured key, long");
        assert!(!dir.path().join(KEY_FILE_NAME).exists());
    }

    #[test]
    fn malformed_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        for (content, want) in [
            (&b"abc\n"[..], "expected 64 hex digits, found 3"),
            (&[b'g'; 64][..], "not hexadecimal"),
            (&[0xff, 0xfe][..], "not text"),
            (&b""[..], "found 0"),
        ] {
            fs::write(&path, content).unwrap();
            let err = UserIdKey::load_or_create(None, dir.path())
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{err}");
            assert!(err.contains("privacy.key is malformed"), "{err}");
            assert_eq!(fs::read(&path).unwrap(), content, "the file must be left alone");
        }
    }

    #[test]
    fn openssl_style_file_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        fs::write(dir.path().join(KEY_FILE_NAME), format!("{hex}\r\n")).unwrap();
        let key = UserIdKey::load_or_create(None, dir.path()).unwrap();
        assert_eq!(key.as_bytes()[..3], [0x00, 0x11, 0x22]);
        assert_eq!(key.as_bytes()[31], 0xff);
    }

    #[test]
    fn debug_never_shows_the_key() {
        assert_eq!(
            format!("{:?}", UserIdKey::from_secret(&Secret::new("hunter2"))),
            "<secret>"
        );
    }
}
