//! The user's files in `~/.insforge/`: `credentials.json` (the login), `config.json` (settings)
//! and `pending-device.json` (a device login in progress).
//!
//! Field names and layout are the official tool's (two-space indentation, no trailing newline),
//! so a login made by either tool works with the other. Fields we do not know are kept when we
//! rewrite a file. Every write is atomic; the credentials file is 0600 in a 0700 directory.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::fs::{create_private_dir, write_atomic};
use crate::error::{CliError, Result};

/// The platform the official tool and we talk to unless told otherwise.
pub const DEFAULT_PLATFORM_URL: &str = "https://api.insforge.dev";

/// Said while another insforge process holds the login's lock.
pub const WAITING_FOR_LOCK: &str =
    "waiting for another insforge process that is updating the login...";

/// Where the user's files live.
#[derive(Debug, Clone)]
pub struct UserFiles {
    pub dir: PathBuf,
}

impl UserFiles {
    /// `~/.insforge`, or an error when there is no home directory.
    pub fn locate() -> Result<Self> {
        let dir = super::user_dir().ok_or_else(|| {
            CliError::general("cannot find your home directory (HOME is not set)")
                .with_hint("set HOME to a directory you own")
        })?;
        Ok(UserFiles { dir })
    }

    pub fn credentials_path(&self) -> PathBuf {
        self.dir.join("credentials.json")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn pending_device_path(&self) -> PathBuf {
        self.dir.join("pending-device.json")
    }

    /// The stored login, if there is one.
    pub fn load_credentials(&self) -> Result<Option<Credentials>> {
        read_json(&self.credentials_path())
    }

    /// Stores the login: 0600, in a 0700 directory, atomically.
    pub fn save_credentials(&self, credentials: &Credentials) -> Result<()> {
        self.ensure_dir()?;
        restrict_dir(&self.dir);
        write_json(&self.credentials_path(), credentials, Some(0o600))
    }

    /// The lock file every insforge process of this user takes around changes to the login.
    pub fn credentials_lock_path(&self) -> PathBuf {
        self.dir.join(".credentials.lock")
    }

    /// Opens (creating it, 0600) the lock file; see `Session::lock_across_processes`.
    pub fn open_credentials_lock(&self) -> Result<std::fs::File> {
        self.ensure_dir()?;
        let path = self.credentials_lock_path();
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(&path).map_err(|e| io_error("open", &path, e))
    }

    /// Tries to take the lock on an opened lock file: `Ok(false)` while another process
    /// holds it.
    pub fn try_lock(&self, file: &std::fs::File) -> Result<bool> {
        match file.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(io_error("lock", &self.credentials_lock_path(), e))
            }
        }
    }

    /// Takes the lock, waiting while another process holds it (saying so after a second).
    /// For commands without a runtime; Ctrl-C simply ends the process meanwhile.
    pub fn lock_credentials_blocking(&self) -> Result<std::fs::File> {
        let file = self.open_credentials_lock()?;
        let started = std::time::Instant::now();
        let mut told = false;
        while !self.try_lock(&file)? {
            if !told && started.elapsed() >= std::time::Duration::from_secs(1) {
                told = true;
                crate::output::note(WAITING_FOR_LOCK);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Ok(file)
    }

    /// Creates `~/.insforge` (0700) if needed, with an error that names it.
    pub fn ensure_dir(&self) -> Result<()> {
        create_private_dir(&self.dir, 0o700).map_err(|e| io_error("create", &self.dir, e))
    }

    /// Fails early, before anything is asked of the platform, when the login could not be
    /// stored: `~/.insforge` cannot be created or written.
    pub fn check_writable(&self) -> Result<()> {
        self.ensure_dir()?;
        tempfile::Builder::new()
            .prefix(".insforge-check-")
            .tempfile_in(&self.dir)
            .map(drop)
            .map_err(|e| io_error("write to", &self.dir, e))
    }

    /// The settings; a missing file reads as the defaults.
    pub fn load_settings(&self) -> Result<Settings> {
        Ok(read_json(&self.config_path())?.unwrap_or_default())
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<()> {
        self.ensure_dir()?;
        let mode = existing_mode(&self.config_path()).unwrap_or(0o644);
        write_json(&self.config_path(), settings, Some(mode))
    }

    /// Removes a file; a file that is not there is fine.
    pub fn remove(&self, path: &Path) -> Result<bool> {
        match std::fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("remove", path, e)),
        }
    }
}

/// `~/.insforge/credentials.json`.
#[derive(Serialize, Deserialize, Clone, Default, PartialEq)]
pub struct Credentials {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// A user API key (`uak_...`) login: the key is the bearer and is never refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_api_key: Option<String>,
    /// The user as the platform described them, kept as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &Option<String>| match v {
            Some(s) if !s.is_empty() => "***",
            Some(_) => "\"\"",
            None => "None",
        };
        f.debug_struct("Credentials")
            .field("access_token", &shown(&self.access_token))
            .field("refresh_token", &shown(&self.refresh_token))
            .field("user_api_key", &shown(&self.user_api_key))
            .field("user", &self.user)
            .finish()
    }
}

/// The user the official tool stores before it has fetched the real profile.
pub fn placeholder_user() -> Value {
    serde_json::json!({"id": "", "name": "", "email": "", "avatar_url": null, "email_verified": true})
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl Credentials {
    /// A login made with a token pair (browser, device or password login).
    pub fn from_tokens(access: Option<String>, refresh: Option<String>, user: Value) -> Self {
        Credentials {
            access_token: access,
            refresh_token: refresh,
            user_api_key: None,
            user: Some(user),
            extra: Map::new(),
        }
    }

    /// A user API key login: the key is the bearer, and there are no tokens to renew.
    pub fn from_user_api_key(key: &str, user: Value) -> Self {
        Credentials {
            access_token: Some(String::new()),
            refresh_token: Some(String::new()),
            user_api_key: Some(key.to_owned()),
            user: Some(user),
            extra: Map::new(),
        }
    }

    /// The bearer for platform calls: a user API key wins over an access token.
    pub fn bearer(&self) -> Option<&str> {
        non_empty(&self.user_api_key).or_else(|| non_empty(&self.access_token))
    }

    pub fn user_api_key(&self) -> Option<&str> {
        non_empty(&self.user_api_key)
    }

    pub fn refresh_token(&self) -> Option<&str> {
        non_empty(&self.refresh_token)
    }

    /// Whether these credentials can authenticate, now or after a refresh.
    pub fn usable(&self) -> bool {
        self.bearer().is_some() || self.refresh_token().is_some()
    }

    /// The official tool's legacy sessions kept a user API key in `refresh_token`; such a
    /// session becomes a user API key login. Returns whether anything changed.
    pub fn migrate_legacy_key(&mut self) -> bool {
        if self.user_api_key().is_some() {
            return false;
        }
        match self.refresh_token() {
            Some(rt) if rt.starts_with("uak_") => {
                self.user_api_key = Some(rt.to_owned());
                self.access_token = Some(String::new());
                self.refresh_token = Some(String::new());
                true
            }
            _ => false,
        }
    }

    /// The stored user's email, name, or id, for messages.
    pub fn identity(&self) -> Option<String> {
        user_identity(self.user.as_ref()?)
    }
}

/// `email`, else `name`, else `id` of a platform user object, when non-empty.
pub fn user_identity(user: &Value) -> Option<String> {
    ["email", "name", "id"]
        .iter()
        .filter_map(|k| user.get(k).and_then(Value::as_str))
        .find(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `~/.insforge/config.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_api_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_org_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Default for Settings {
    /// What the official tool assumes, and writes, when the file is missing.
    fn default() -> Self {
        Settings {
            platform_api_url: Some(DEFAULT_PLATFORM_URL.to_owned()),
            default_org_id: None,
            oauth_client_id: None,
            extra: Map::new(),
        }
    }
}

/// Reads a JSON file; `None` when it does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "has a field of the wrong type",
            _ => "is not valid JSON",
        };
        CliError::general(format!(
            "{} {what} (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
        .with_hint("fix or remove the file")
    })
}

/// An I/O error that names what was being done, and to which path.
fn io_error(action: &str, path: &Path, err: std::io::Error) -> CliError {
    let hint = match err.kind() {
        std::io::ErrorKind::PermissionDenied => {
            format!("check that you own {} and can write to it", path.display())
        }
        _ => "check the path and the free space".to_owned(),
    };
    CliError::general(format!(
        "cannot {action} {}: {}",
        path.display(),
        crate::config::fs::describe(&err)
    ))
    .with_hint(hint)
}

/// Writes `value` the official tool's way: two-space indentation, no trailing newline.
pub fn write_json<T: Serialize>(path: &Path, value: &T, mode: Option<u32>) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::general(e.to_string()))?;
    // A file kept elsewhere and linked here (dotfiles) is updated where it lives; replacing the
    // link would leave the real file with stale tokens.
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path).map_err(|e| io_error("follow", path, e))?;
            resolved.as_path()
        }
        _ => path,
    };
    write_atomic(path, text.as_bytes(), mode).map_err(|e| io_error("write", path, e))
}

#[cfg(unix)]
fn existing_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

#[cfg(not(unix))]
fn existing_mode(_path: &Path) -> Option<u32> {
    None
}

/// The directory holding credentials is tightened to 0700 when we store a login in it.
fn restrict_dir(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_credentials_round_trip_with_unknown_fields() {
        let text = r#"{
  "access_token": "at",
  "refresh_token": "rt",
  "user": {
    "id": "u",
    "email": "a@b.c",
    "plan": "pro"
  },
  "future": 1
}"#;
        let creds: Credentials = serde_json::from_str(text).unwrap();
        assert_eq!(creds.bearer(), Some("at"));
        assert_eq!(serde_json::to_string_pretty(&creds).unwrap(), text);
    }

    #[test]
    fn user_api_key_wins_and_empty_strings_are_no_token() {
        let creds: Credentials = serde_json::from_str(
            r#"{"access_token":"","refresh_token":"","user_api_key":"uak_1"}"#,
        )
        .unwrap();
        assert_eq!(creds.bearer(), Some("uak_1"));
        let empty: Credentials =
            serde_json::from_str(r#"{"access_token":"","refresh_token":""}"#).unwrap();
        assert!(!empty.usable());
    }

    #[test]
    fn legacy_key_in_refresh_token_becomes_a_user_api_key() {
        let mut creds: Credentials =
            serde_json::from_str(r#"{"access_token":"","refresh_token":"uak_old","user":{}}"#)
                .unwrap();
        assert!(creds.migrate_legacy_key());
        assert_eq!(creds.bearer(), Some("uak_old"));
        assert_eq!(creds.refresh_token(), None);
        assert!(!creds.migrate_legacy_key());
    }

    #[test]
    fn debug_never_shows_tokens() {
        let creds = Credentials::from_tokens(
            Some("secret-at".into()),
            Some("secret-rt".into()),
            placeholder_user(),
        );
        let shown = format!("{creds:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn missing_settings_read_as_the_default_platform() {
        let dir = tempfile::tempdir().unwrap();
        let files = UserFiles {
            dir: dir.path().join(".insforge"),
        };
        let settings = files.load_settings().unwrap();
        assert_eq!(
            settings.platform_api_url.as_deref(),
            Some(DEFAULT_PLATFORM_URL)
        );
        files.save_settings(&settings).unwrap();
        let text = std::fs::read_to_string(files.config_path()).unwrap();
        assert_eq!(
            text,
            "{\n  \"platform_api_url\": \"https://api.insforge.dev\"\n}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_file_is_updated_where_it_lives() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_json(&link, &serde_json::json!({"a": 1}), Some(0o600)).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "{\n  \"a\": 1\n}");
    }

    #[cfg(unix)]
    #[test]
    fn credentials_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let files = UserFiles {
            dir: dir.path().join(".insforge"),
        };
        files
            .save_credentials(&Credentials::from_tokens(None, None, placeholder_user()))
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&files.credentials_path()), 0o600);
        assert_eq!(mode(&files.dir), 0o700);
    }
}
