//! The platform login in use for one run: which bearer token platform requests carry, and the
//! one refresh of an expired access token.
//!
//! Bearer choice: `INSFORGE_ACCESS_TOKEN`, then the stored user API key, then the stored access
//! token. A refresh happens at most once per rejected token (parallel requests that all see a
//! 401 share it), only from a stored OAuth refresh token, and never opens a browser: a refresh
//! the platform refuses means "log in again" (exit 2); one that fails for a passing reason (5xx,
//! network) says so (exit 1) and leaves the stored credentials exactly as they were.

use std::sync::Mutex;

use insforge_plugin_api::Request;
use serde_json::{json, Value};

use crate::api::Client;
use crate::config::user::{Credentials, UserFiles};
use crate::error::{CliError, Kind, Result};

/// The official tool's OAuth client id, used unless `config.json` or `--client-id` names one.
pub const DEFAULT_CLIENT_ID: &str = "clf_NK8cMUs41gm8ZcfdtSguVw";

/// `INSFORGE_ACCESS_TOKEN`, trimmed (a token pasted with its line ending would not be a valid
/// header), when set and not blank.
pub fn env_token() -> Option<String> {
    std::env::var("INSFORGE_ACCESS_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The error for "no usable login".
pub fn not_logged_in() -> CliError {
    CliError::new(Kind::NotAuthenticated, "you are not logged in")
        .with_hint("run `insforge login` (or set INSFORGE_ACCESS_TOKEN)")
}

fn session_expired(detail: Option<String>) -> CliError {
    let message = match detail {
        Some(d) => format!("your login has expired and could not be renewed: {d}"),
        None => "your login has expired and could not be renewed".to_owned(),
    };
    CliError::new(Kind::NotAuthenticated, message).with_hint("log in again with `insforge login`")
}

/// The platform login of one run.
pub struct Session {
    files: UserFiles,
    platform_url: String,
    client_id: String,
    env_token: Option<String>,
    /// The credentials file as last read or written; `None` until first needed.
    cache: Mutex<Option<Option<Credentials>>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("platform_url", &self.platform_url)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(files: UserFiles, platform_url: String, client_id: String) -> Self {
        let env_token = env_token();
        Session {
            files,
            platform_url,
            client_id,
            env_token,
            cache: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn files(&self) -> &UserFiles {
        &self.files
    }

    pub fn platform_url(&self) -> &str {
        &self.platform_url
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether `INSFORGE_ACCESS_TOKEN` supplies the bearer.
    pub fn uses_env_token(&self) -> bool {
        self.env_token.is_some()
    }

    /// The stored credentials (read once, then cached).
    pub fn credentials(&self) -> Result<Option<Credentials>> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.is_none() {
            *cache = Some(self.files.load_credentials()?);
        }
        Ok(cache.clone().flatten())
    }

    /// Takes the lock every insforge process of this user takes before it renews, stores or
    /// removes the login, waiting (interruptibly, saying so after a moment) while another
    /// process holds it. Released when the file is dropped.
    pub async fn lock_across_processes(&self, client: &Client) -> Result<std::fs::File> {
        let file = self.files.open_credentials_lock()?;
        let started = std::time::Instant::now();
        let mut told = false;
        while !self.files.try_lock(&file)? {
            if !told && started.elapsed() >= std::time::Duration::from_secs(1) {
                told = true;
                crate::output::note(crate::config::user::WAITING_FOR_LOCK);
            }
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                () = client.interrupt().wait() => {
                    return Err(CliError::interrupted());
                }
            }
        }
        Ok(file)
    }

    /// Replaces the stored login under the lock every insforge process takes, so a renewal in
    /// flight elsewhere cannot write an older login over it afterwards.
    pub async fn replace(&self, client: &Client, credentials: &Credentials) -> Result<()> {
        let _lock = self.lock_across_processes(client).await?;
        self.store(credentials)
    }

    /// Changes the stored login under the lock, starting from the file as it is now (another
    /// process may have renewed it meanwhile). Nothing happens when there is no stored login.
    pub async fn update(
        &self,
        client: &Client,
        change: impl FnOnce(&mut Credentials),
    ) -> Result<()> {
        let _lock = self.lock_across_processes(client).await?;
        if let Some(stored) = self.reload()? {
            let mut changed = stored.clone();
            change(&mut changed);
            if changed != stored {
                self.store(&changed)?;
            }
        }
        Ok(())
    }

    /// Reads the credentials file again (another process may have rewritten it).
    fn reload(&self) -> Result<Option<Credentials>> {
        let fresh = self.files.load_credentials()?;
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
        Ok(fresh)
    }

    /// Stores new credentials and remembers them for the rest of the run.
    pub fn store(&self, credentials: &Credentials) -> Result<()> {
        self.files.save_credentials(credentials)?;
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(Some(credentials.clone()));
        Ok(())
    }

    /// Whether platform requests can be authenticated (now or after a refresh).
    pub fn logged_in(&self) -> Result<bool> {
        if self.env_token.is_some() {
            return Ok(true);
        }
        // A legacy `uak_` refresh token counts too: `usable` sees it as a refresh token.
        Ok(self.credentials()?.is_some_and(|c| c.usable()))
    }

    /// Fails with "not logged in" unless [`Session::logged_in`].
    pub fn require_login(&self) -> Result<()> {
        if self.logged_in()? {
            Ok(())
        } else {
            Err(not_logged_in())
        }
    }

    /// The bearer for the next platform request, refreshing first when only a refresh token is
    /// left.
    pub async fn bearer(&self, client: &Client) -> Result<String> {
        if let Some(token) = &self.env_token {
            return Ok(token.clone());
        }
        let mut creds = self.credentials()?.ok_or_else(not_logged_in)?;
        if let Some(bearer) = creds.bearer() {
            return Ok(bearer.to_owned());
        }
        if creds.migrate_legacy_key() {
            self.store(&creds)?;
            return Ok(creds.bearer().unwrap_or_default().to_owned());
        }
        if creds.refresh_token().is_some() {
            return self.refresh(client, "").await;
        }
        Err(not_logged_in())
    }

    /// Called when the platform answered 401 to `rejected`: returns the token to retry with.
    pub async fn refresh(&self, client: &Client, rejected: &str) -> Result<String> {
        let _one_at_a_time = self.refreshing.lock().await;
        if self.env_token.as_deref() == Some(rejected) {
            return Err(CliError::new(
                Kind::NotAuthenticated,
                "the platform rejected the token in INSFORGE_ACCESS_TOKEN (expired or revoked)",
            )
            .with_hint(
                "set a fresh token, or unset INSFORGE_ACCESS_TOKEN to use your stored login",
            ));
        }
        // Other insforge processes (parallel CI steps, an agent's tools) may be renewing the
        // same login: the platform rotates refresh tokens, so only one may use it. Under the
        // lock, the file on disk is the truth.
        let _across_processes = self.lock_across_processes(client).await?;
        let mut creds = self.reload()?.ok_or_else(not_logged_in)?;
        if let Some(current) = creds.bearer() {
            if current != rejected {
                // Another request of this run, or another process, has renewed it already.
                return Ok(current.to_owned());
            }
        }
        if creds.user_api_key().is_some() {
            return Err(CliError::new(
                Kind::NotAuthenticated,
                "the platform rejected your user API key (invalid, revoked or expired)",
            )
            .with_hint("log in again with `insforge login --user-api-key <new key>`"));
        }
        if creds.migrate_legacy_key() {
            self.store(&creds)?;
            return Ok(creds.bearer().unwrap_or_default().to_owned());
        }
        let Some(refresh_token) = creds.refresh_token().map(str::to_owned) else {
            return Err(session_expired(None));
        };

        let (access, rotated) = self.exchange_refresh_token(client, &refresh_token).await?;
        creds.access_token = Some(access.clone());
        if let Some(rotated) = rotated {
            creds.refresh_token = Some(rotated);
        }
        self.store(&creds)?;
        tracing::debug!("renewed the platform access token");
        Ok(access)
    }

    async fn exchange_refresh_token(
        &self,
        client: &Client,
        refresh_token: &str,
    ) -> Result<(String, Option<String>)> {
        let url = oauth_url(&self.platform_url, "token");
        let body = json!({
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
        });
        let request = Request::absolute("POST", &url).json(&body).into_raw();
        // A failure that says nothing about the login itself: it is kept as it was.
        let temporary = |kind: Kind, what: String| {
            CliError::new(
                kind,
                format!(
                    "could not renew your login: {what}. This is temporary; your stored login \
                     is unchanged"
                ),
            )
            .with_hint("try again in a moment")
        };
        let answer = match client.send_once(&request, None).await {
            Ok(answer) => answer,
            Err(err) if err.kind == Kind::Interrupted => return Err(err),
            Err(err) => return Err(temporary(Kind::Network, err.message)),
        };
        let parsed: Option<Value> = serde_json::from_slice(&answer.body).ok();
        match answer.status {
            200..=299 => {
                let access = parsed
                    .as_ref()
                    .and_then(|v| v.get("access_token"))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        temporary(
                            Kind::General,
                            "the platform's answer had no access token".into(),
                        )
                    })?;
                let rotated = parsed
                    .as_ref()
                    .and_then(|v| v.get("refresh_token"))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned);
                Ok((access.to_owned(), rotated))
            }
            400..=499 if answer.status != 408 && answer.status != 429 => {
                let detail = parsed.as_ref().and_then(|v| {
                    ["error_description", "message", "error"]
                        .iter()
                        .find_map(|k| v.get(k).and_then(Value::as_str))
                        .map(str::to_owned)
                });
                Err(session_expired(detail))
            }
            status => Err(temporary(
                Kind::Http,
                format!("the platform answered HTTP {status}"),
            )),
        }
    }
}

/// `{platform}/api/oauth/v1/{endpoint}`.
pub fn oauth_url(platform_url: &str, endpoint: &str) -> String {
    format!("{platform_url}/api/oauth/v1/{endpoint}")
}
