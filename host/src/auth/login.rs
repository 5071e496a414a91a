//! The ways to log in: browser (authorization code with PKCE and a loopback callback), device
//! code (RFC 8628), email and password, and a user API key. Each returns the credentials to
//! store; the command stores them and reports.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use insforge_plugin_api::abi::HttpRequest;
use insforge_plugin_api::Request;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::callback::CallbackServer;
use super::pkce::Pkce;
use super::session::oauth_url;
use crate::api::Answer;
use crate::app::Env;
use crate::commands::projects::unwrap;
use crate::config::user::{placeholder_user, read_json, write_json, Credentials};
use crate::error::{CliError, Kind, Result};

/// What the CLI asks the platform for.
pub const SCOPES: &str = "user:read organizations:read projects:read projects:write";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The longest a device code is waited for, in seconds, whatever the platform says.
const MAX_DEVICE_LIFETIME: f64 = 86_400.0;
/// Polls are at least a second and at most a minute apart.
const POLL_INTERVAL_RANGE: (f64, f64) = (1.0, 60.0);
const TIMED_OUT: &str = "Authentication timed out. Please try again.";

/// How the user wants to be shown the login page.
#[derive(Debug, Clone, Copy)]
pub struct BrowserOptions {
    /// Print the URL only; never start a browser.
    pub no_browser: bool,
    /// How long to wait for the user.
    pub timeout: Duration,
    /// Whether `--timeout` was given: a device login otherwise waits as long as its code lives.
    pub timeout_given: bool,
}

fn send(env: &Env, request: &HttpRequest, bearer: Option<&str>) -> Result<Answer> {
    let net = env.net()?;
    net.runtime.block_on(net.client.send_once(request, bearer))
}

/// Sends a request to one of the login endpoints and returns the answer with its JSON body
/// (when it has one). A 404 there means the URL is not the platform's (a wrong --api-url).
fn send_to_login_route(
    env: &Env,
    request: &HttpRequest,
    bearer: Option<&str>,
) -> Result<(Answer, Option<Value>)> {
    let answer = send(env, request, bearer)?;
    if answer.status == 404 {
        return Err(crate::api::errors::http_error(
            insforge_plugin_api::abi::Target::PLATFORM,
            answer.status,
            &answer.body,
        ));
    }
    let parsed = body_json(&answer);
    Ok((answer, parsed))
}

fn body_json(answer: &Answer) -> Option<Value> {
    serde_json::from_slice(&answer.body).ok()
}

fn field(value: Option<&Value>, key: &str) -> Option<String> {
    value
        .and_then(|v| v.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A line for the user on stderr; text from the platform in it is shown escaped.
fn say(env: &Env, text: &str) {
    env.output
        .stderr_text(&format!("{}\n", crate::output::table::sanitize(text)));
}

/// Opens `url` in a browser unless told not to; failure only warns.
fn open_browser(env: &Env, url: &str, options: BrowserOptions) {
    if options.no_browser {
        return;
    }
    if webbrowser::open(url).is_err() {
        env.output
            .warning("could not open a browser; open the URL above yourself");
    }
}

/// Browser login: returns the new tokens.
pub fn browser(env: &Env, options: BrowserOptions) -> Result<Credentials> {
    let session = env.session()?;
    let net = env.net()?;
    let pkce = Pkce::new()?;
    let server = net.runtime.block_on(CallbackServer::bind())?;
    let redirect_uri = server.redirect_uri();
    let mut url = reqwest::Url::parse(&oauth_url(session.platform_url(), "authorize"))
        .map_err(|e| CliError::usage(format!("the platform URL is not valid: {e}")))?;
    url.query_pairs_mut()
        .append_pair("client_id", session.client_id())
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", SCOPES)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &pkce.state);
    let url = url.to_string();

    say(env, "To log in, open this URL in your browser:");
    say(env, &url);
    say(env, "Waiting for authentication...");
    open_browser(env, &url, options);

    let code =
        net.runtime
            .block_on(server.wait(&pkce.state, options.timeout, net.client.interrupt()))?;
    let body = json!({
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": session.client_id(),
        "code_verifier": pkce.verifier,
    });
    let request = Request::absolute("POST", &oauth_url(session.platform_url(), "token"))
        .json(&body)
        .into_raw();
    let (answer, parsed) = send_to_login_route(env, &request, None)?;
    if !answer.is_success() {
        let message = field(parsed.as_ref(), "error_description")
            .or_else(|| field(parsed.as_ref(), "error"))
            .unwrap_or_else(|| format!("Token exchange failed (HTTP {})", answer.status));
        return Err(CliError::general(message).with_hint("run `insforge login` again"));
    }
    tokens(parsed.as_ref(), "the token exchange")
}

/// The tokens of a successful OAuth token answer.
fn tokens(parsed: Option<&Value>, what: &str) -> Result<Credentials> {
    let access = field(parsed, "access_token").ok_or_else(|| {
        CliError::general(format!(
            "the platform's answer to {what} had no access token"
        ))
    })?;
    Ok(Credentials::from_tokens(
        Some(access),
        field(parsed, "refresh_token"),
        placeholder_user(),
    ))
}

/// `~/.insforge/pending-device.json`: a device login that a later run can resume.
#[derive(Serialize, Deserialize)]
struct PendingDevice {
    device_code: String,
    user_code: String,
    verification_uri_complete: String,
    interval: f64,
    /// ISO-8601 UTC with milliseconds.
    expires_at: String,
    platform_url: String,
    client_id: String,
}

/// Device login: shows a URL and code, polls until approved.
pub fn device(env: &Env, options: BrowserOptions) -> Result<Credentials> {
    let session = env.session()?;
    let files = session.files();
    let path = files.pending_device_path();
    let now = unix_now();
    let resumed = read_json::<PendingDevice>(&path)
        .ok()
        .flatten()
        .filter(|p| {
            p.platform_url == session.platform_url()
                && p.client_id == session.client_id()
                && parse_iso(&p.expires_at).is_some_and(|t| t > now + 60.0)
        });
    let (pending, resuming) = match resumed {
        Some(p) => (p, true),
        None => (start_device(env)?, false),
    };

    let suffix = if resuming {
        " (resuming the previous login attempt, same code)"
    } else {
        ""
    };
    say(
        env,
        &format!(
            "To log in, open this URL and confirm the code {}{suffix}:",
            pending.user_code
        ),
    );
    say(env, &pending.verification_uri_complete);
    say(env, "Waiting for approval...");
    open_browser(env, &pending.verification_uri_complete, options);

    let outcome = poll_device(env, &pending, options);
    // The code is worth keeping only when it may still be approved: the wait was cut short
    // (--timeout, Ctrl-C) or the platform could not be reached. Anything the platform said
    // about it (approved, denied, expired, invalid) ends it.
    let keep = match &outcome {
        Ok(_) => false,
        Err(e) => matches!(e.kind, Kind::Interrupted | Kind::Network) || e.message == TIMED_OUT,
    };
    if !keep {
        files.remove(&path)?;
    }
    outcome
}

fn start_device(env: &Env) -> Result<PendingDevice> {
    let session = env.session()?;
    let request = Request::absolute(
        "POST",
        &oauth_url(session.platform_url(), "device_authorization"),
    )
    .json(&json!({"client_id": session.client_id(), "scope": SCOPES}))
    .into_raw();
    let (answer, parsed) = send_to_login_route(env, &request, None)?;
    if !answer.is_success() {
        let error = field(parsed.as_ref(), "error");
        if error.as_deref() == Some("unauthorized_client") {
            return Err(CliError::general(
                "Device login is not enabled for this OAuth client (server too old or grant not enabled).",
            )
            .with_hint("use `insforge login` or `insforge login --user-api-key` instead"));
        }
        let message = field(parsed.as_ref(), "message")
            .or_else(|| field(parsed.as_ref(), "error_description"))
            .or(error)
            .unwrap_or_else(|| format!("Device authorization failed (HTTP {})", answer.status));
        return Err(CliError::general(message));
    }
    let p = parsed.as_ref();
    let missing = |name: &str| {
        CliError::general(format!(
            "the platform's device authorization answer has no {name}"
        ))
    };
    // Bounded, whatever the answer says: a day for the code, a minute between polls.
    let expires_in = p
        .and_then(|v| v.get("expires_in"))
        .and_then(Value::as_f64)
        .filter(|e| e.is_finite() && *e > 0.0)
        .ok_or_else(|| missing("expires_in"))?
        .min(MAX_DEVICE_LIFETIME);
    let interval = p
        .and_then(|v| v.get("interval"))
        .and_then(Value::as_f64)
        .filter(|i| i.is_finite() && *i > 0.0)
        .unwrap_or(5.0);
    let pending = PendingDevice {
        device_code: field(p, "device_code").ok_or_else(|| missing("device_code"))?,
        user_code: field(p, "user_code").ok_or_else(|| missing("user_code"))?,
        verification_uri_complete: field(p, "verification_uri_complete")
            .filter(|u| {
                reqwest::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            })
            .ok_or_else(|| missing("http(s) verification_uri_complete"))?,
        interval,
        expires_at: format_iso(unix_now() + expires_in),
        platform_url: session.platform_url().to_owned(),
        client_id: session.client_id().to_owned(),
    };
    let files = session.files();
    files.ensure_dir()?;
    write_json(&files.pending_device_path(), &pending, Some(0o600))?;
    Ok(pending)
}

fn poll_device(env: &Env, pending: &PendingDevice, options: BrowserOptions) -> Result<Credentials> {
    let session = env.session()?;
    let net = env.net()?;
    let client = &net.client;
    let expired = || {
        CliError::general("The device code expired before the login was approved.")
            .with_hint("run `insforge login --device` again")
    };
    let mut deadline = parse_iso(&pending.expires_at)
        .ok_or_else(expired)?
        .min(unix_now() + MAX_DEVICE_LIFETIME);
    let gave_up_at = unix_now() + options.timeout.as_secs_f64();
    let timed_out = options.timeout_given && gave_up_at < deadline;
    if timed_out {
        deadline = gave_up_at;
    }
    // Clamped here too: the pending file may have been written by another tool or edited.
    let mut interval = if pending.interval.is_finite() {
        pending
            .interval
            .clamp(POLL_INTERVAL_RANGE.0, POLL_INTERVAL_RANGE.1)
    } else {
        5.0
    };
    let request = Request::absolute("POST", &oauth_url(session.platform_url(), "token"))
        .json(&json!({
            "grant_type": DEVICE_GRANT,
            "device_code": pending.device_code,
            "client_id": session.client_id(),
        }))
        .into_raw();
    loop {
        if unix_now() >= deadline {
            if timed_out {
                // The code still lives; a later `login --device` resumes it.
                return Err(CliError::general(TIMED_OUT).with_hint(
                    "run `insforge login --device` again to keep waiting for the same code",
                ));
            }
            return Err(expired());
        }
        // Never past the deadline: a long interval must not outlast --timeout or the code.
        let nap = interval.min(deadline - unix_now()).max(0.0);
        let slept = net.runtime.block_on(async {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs_f64(nap)) => true,
                () = client.interrupt().wait() => false,
            }
        });
        if !slept {
            return Err(CliError::interrupted());
        }
        if unix_now() >= deadline {
            continue;
        }
        let answer = match net.runtime.block_on(client.send_once(&request, None)) {
            Ok(answer) => answer,
            Err(e) if e.kind == Kind::Interrupted => return Err(e),
            Err(e) => {
                tracing::debug!("device poll failed, will retry: {}", e.message);
                continue;
            }
        };
        let parsed = body_json(&answer);
        if answer.is_success() {
            return tokens(parsed.as_ref(), "the device login");
        }
        if answer.status >= 500 || answer.status == 429 {
            // The login is still pending on the platform; a passing failure does not end it.
            tracing::debug!("device poll answered HTTP {}, will retry", answer.status);
            continue;
        }
        let described = |error: &str| {
            field(parsed.as_ref(), "error_description")
                .map_or_else(|| error.to_owned(), |d| format!("{error}: {d}"))
        };
        match field(parsed.as_ref(), "error").as_deref() {
            Some("authorization_pending") => {}
            Some("slow_down") => interval = (interval + 5.0).min(POLL_INTERVAL_RANGE.1),
            Some("access_denied") => {
                return Err(CliError::new(
                    Kind::NotAuthenticated,
                    "Login request was denied in the dashboard.",
                ))
            }
            Some("expired_token") => return Err(expired()),
            Some(other) => return Err(CliError::general(described(other))),
            None => {
                return Err(CliError::general(format!(
                    "Token polling failed (HTTP {})",
                    answer.status
                )))
            }
        }
    }
}

/// Email and password login.
pub fn password(env: &Env, email: &str, password: &str) -> Result<Credentials> {
    let request = Request::platform("POST", "/auth/v1/login")
        .json(&json!({"email": email, "password": password}))
        .into_raw();
    let (answer, parsed) = send_to_login_route(env, &request, None)?;
    if !answer.is_success() {
        let rejected = (400..500).contains(&answer.status) && answer.status != 429;
        let (kind, fallback) = if rejected {
            (
                Kind::NotAuthenticated,
                "Login failed. Check your email and password.".to_owned(),
            )
        } else {
            (
                Kind::Http,
                format!(
                    "the platform could not log you in (HTTP {}); try again later",
                    answer.status
                ),
            )
        };
        let message = match field(parsed.as_ref(), "error") {
            Some(error) if !rejected => format!("{error} (HTTP {})", answer.status),
            Some(error) => error,
            None => fallback,
        };
        let mut err = CliError::new(kind, message);
        if kind == Kind::NotAuthenticated {
            err = err.with_hint(
                "check the email and password, or log in with the browser: `insforge login`",
            );
        }
        return Err(err);
    }
    let token = field(parsed.as_ref(), "token")
        .ok_or_else(|| CliError::general("the platform's login answer had no token"))?;
    let refresh = answer
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| cookie_value(v, "refreshToken"))
        .unwrap_or_default();
    let user = parsed
        .and_then(|v| v.get("user").cloned())
        .filter(Value::is_object)
        .unwrap_or_else(placeholder_user);
    Ok(Credentials::from_tokens(Some(token), Some(refresh), user))
}

/// The value of cookie `name` in a `Set-Cookie` header.
fn cookie_value(header: &str, name: &str) -> Option<String> {
    header.split(',').find_map(|cookie| {
        let (k, rest) = cookie.trim().split_once('=')?;
        (k == name).then(|| rest.split(';').next().unwrap_or("").to_owned())
    })
}

/// User API key login: the key is checked against the profile, then stored.
pub fn user_api_key(env: &Env, key: &str) -> Result<Credentials> {
    let request = Request::platform("GET", "/auth/v1/profile").into_raw();
    let (answer, parsed) = send_to_login_route(env, &request, Some(key))?;
    let detail = || {
        field(parsed.as_ref(), "message")
            .or_else(|| field(parsed.as_ref(), "error"))
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    };
    match answer.status {
        200..=299 => {}
        401 | 403 => {
            return Err(CliError::new(
                Kind::NotAuthenticated,
                format!("API key is invalid or revoked{}", detail()),
            )
            .with_hint("create a new key in the dashboard"))
        }
        status => {
            return Err(CliError::general(format!(
                "Could not verify API key (HTTP {status}){}",
                detail()
            )))
        }
    }
    let user = parsed
        .map(|v| unwrap(v, "user"))
        .filter(|u| u.get("id").is_some_and(|id| !id.is_null()))
        .ok_or_else(|| CliError::general("Profile response was empty or malformed"))?;
    Ok(Credentials::from_user_api_key(key, user))
}

/// The profile, fetched with `bearer` (the token just obtained, not `INSFORGE_ACCESS_TOKEN`).
pub fn profile_with(env: &Env, bearer: &str) -> Result<Value> {
    let request = Request::platform("GET", "/auth/v1/profile").into_raw();
    let answer = send(env, &request, Some(bearer))?;
    Some(answer.into_json(insforge_plugin_api::abi::Target::PLATFORM)?)
        .map(|v| unwrap(v, "user"))
        .filter(Value::is_object)
        .ok_or_else(|| CliError::general("Profile response was empty or malformed"))
}

fn unix_now() -> f64 {
    seconds_since_epoch(SystemTime::now())
}

fn seconds_since_epoch(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `2025-01-01T00:15:00.000Z` for a Unix time, as the official tool writes `expires_at`.
fn format_iso(unix: f64) -> String {
    let secs = if unix.is_finite() {
        unix.clamp(0.0, 253_402_300_799.0)
    } else {
        0.0
    };
    let time = UNIX_EPOCH + Duration::from_secs_f64(secs);
    humantime::format_rfc3339_millis(time).to_string()
}

/// The Unix time of an RFC 3339 UTC timestamp (`YYYY-MM-DDTHH:MM:SS[.fff]Z`).
fn parse_iso(text: &str) -> Option<f64> {
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
        .ok()
        .map(seconds_since_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps_round_trip_in_the_official_format() {
        assert_eq!(format_iso(1_735_690_500.0), "2025-01-01T00:15:00.000Z");
        assert_eq!(parse_iso("2025-01-01T00:15:00.000Z"), Some(1_735_690_500.0));
        assert_eq!(parse_iso("2024-02-29T23:59:59.5Z"), Some(1_709_251_199.5));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn the_refresh_cookie_is_found_among_others() {
        let header = "a=1; Path=/, refreshToken=rt_123; HttpOnly; Path=/";
        assert_eq!(
            cookie_value(header, "refreshToken").as_deref(),
            Some("rt_123")
        );
        assert_eq!(cookie_value("x=1", "refreshToken"), None);
    }
}
