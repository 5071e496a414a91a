//! The host's HTTP client: every request any plugin makes goes through here.
//!
//! It adds credentials for the target (the project API key for the backend, the user's token for
//! the platform, nothing for absolute URLs) and timeouts, retries idempotent requests (`GET`,
//! `HEAD`) that never reached the server or were answered 502, 503 or 504, and logs each request
//! with `-v`, never showing a secret.

pub mod errors;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use insforge_plugin_api::abi::{BodyKind, HttpRequest, ResponseMode, Target};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

use crate::auth::Session;
use crate::error::{CliError, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Longer than the backend's own 30 s statement timeout, so its answer arrives first.
const READ_TIMEOUT: Duration = Duration::from_secs(120);
/// How many times an idempotent request is retried.
const MAX_RETRIES: usize = 2;
/// Waits before the retries of an idempotent request whose connection was never established.
const RETRY_DELAYS: [Duration; MAX_RETRIES] =
    [Duration::from_millis(250), Duration::from_millis(750)];
/// Waits before the retries of an idempotent request answered 502, 503 or 504, unless the answer
/// says how long to wait (`Retry-After`, capped at [`MAX_RETRY_AFTER`]).
const UNAVAILABLE_DELAYS: [Duration; MAX_RETRIES] =
    [Duration::from_millis(500), Duration::from_millis(1500)];
/// The longest `Retry-After` honoured: a command should fail rather than hang for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Ctrl-C, shared between the signal handler and in-flight requests.
#[derive(Debug, Default)]
pub struct Interrupt {
    flag: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    pub fn trigger(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Completes once Ctrl-C was pressed.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// Where project-backend requests go, and with which key.
#[derive(Clone)]
pub struct Backend {
    pub base_url: String,
    pub api_key: String,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("base_url", &self.base_url)
            .field("api_key", &"***")
            .finish()
    }
}

/// An answer, with the body in memory or already written to a file.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub bytes_written: u64,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The JSON body of a 2xx answer; any other status becomes the error
    /// [`errors::http_error`] maps it to for `target`.
    pub fn into_json(self, target: Target) -> Result<serde_json::Value> {
        if !self.is_success() {
            return Err(errors::http_error(target, self.status, &self.body));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::general(format!("the server sent invalid JSON: {e}")))
    }
}

/// The client, configured for one run.
pub struct Client {
    http: reqwest::Client,
    backend: OnceLock<Backend>,
    /// The login, made on first use: commands that never reach the platform never read
    /// `~/.insforge` (a self-hosted link needs neither a home directory nor a login).
    session: OnceLock<Session>,
    make_session: SessionFactory,
    interrupt: Arc<Interrupt>,
}

/// Makes the run's [`Session`] when a platform request or a login check first needs it.
pub type SessionFactory = Box<dyn Fn() -> Result<Session> + Send + Sync>;

impl Client {
    pub fn new(make_session: SessionFactory, interrupt: Arc<Interrupt>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(concat!("insforge/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend initialises");
        Client {
            http,
            backend: OnceLock::new(),
            session: OnceLock::new(),
            make_session,
            interrupt,
        }
    }

    /// Sets where backend requests go; the first backend set for a run stays.
    pub fn set_backend(&self, backend: Backend) {
        let _ = self.backend.set(backend);
    }

    pub fn backend(&self) -> Option<&Backend> {
        self.backend.get()
    }

    /// The login of this run, made on first use.
    pub fn session(&self) -> Result<&Session> {
        if let Some(session) = self.session.get() {
            return Ok(session);
        }
        let made = (self.make_session)()?;
        Ok(self.session.get_or_init(|| made))
    }

    /// Sends a request and returns the answer, whatever its status. Platform requests carry
    /// the user's token; a 401 from the platform renews it once and repeats the request.
    pub async fn send(&self, request: &HttpRequest) -> Result<Answer> {
        if request.target != Target::PLATFORM {
            return self.send_once(request, None).await;
        }
        let bearer = self.session()?.bearer(self).await?;
        let answer = self.send_once(request, Some(&bearer)).await?;
        if answer.status != 401 {
            return Ok(answer);
        }
        tracing::debug!("the platform answered 401; renewing the login once");
        let renewed = self.session()?.refresh(self, &bearer).await?;
        self.send_once(request, Some(&renewed)).await
    }

    /// Sends a request once, apart from the retries of idempotent requests (`GET`, `HEAD`): those
    /// are sent again, at most twice, when the connection was never established or the answer
    /// was 502, 503 or 504 (a proxy or a server that is briefly unavailable). Other methods are
    /// never repeated: re-sending SQL or an import could run it twice. `bearer` is the platform
    /// token.
    pub async fn send_once(&self, request: &HttpRequest, bearer: Option<&str>) -> Result<Answer> {
        let url = self.url_for(request)?;
        let method = method_of(request)?;
        let idempotent = matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);

        let mut attempt = 0;
        loop {
            let started = Instant::now();
            let built = self.build(request, method.clone(), &url, bearer).await?;
            log_request(&built);
            let sent = tokio::select! {
                r = self.http.execute(built) => r,
                () = self.interrupt.wait() => return Err(CliError::interrupted()),
            };
            let retries_left = idempotent && attempt < MAX_RETRIES;
            match sent {
                Ok(response) => {
                    let status = response.status().as_u16();
                    tracing::debug!(
                        status,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "<- {} {}",
                        method,
                        redact_url(&url)
                    );
                    if tracing::enabled!(tracing::Level::TRACE) {
                        for (name, value) in response.headers() {
                            tracing::trace!(
                                "   {}: {}",
                                title_case(name.as_str()),
                                redact_header(name.as_str(), value)
                            );
                        }
                    }
                    if !(retries_left && retryable_status(status)) {
                        return self.read(request, response).await;
                    }
                    let wait =
                        retry_after(response.headers()).unwrap_or(UNAVAILABLE_DELAYS[attempt]);
                    drop(response);
                    tracing::debug!(
                        "{method} {} answered {status}; retrying in {:.1} s ({} of {})",
                        redact_url(&url),
                        wait.as_secs_f64(),
                        attempt + 1,
                        MAX_RETRIES
                    );
                    self.pause(wait).await?;
                }
                Err(err) if retries_left && err.is_connect() => {
                    tracing::debug!(
                        "retrying {method} {} after: {err} ({} of {})",
                        redact_url(&url),
                        attempt + 1,
                        MAX_RETRIES
                    );
                    self.pause(RETRY_DELAYS[attempt]).await?;
                }
                Err(err) => return Err(errors::transport_error(&err, &url)),
            }
            attempt += 1;
        }
    }

    /// Waits before a retry, unless Ctrl-C comes first.
    async fn pause(&self, wait: Duration) -> Result<()> {
        tokio::select! {
            () = tokio::time::sleep(wait) => Ok(()),
            () = self.interrupt.wait() => Err(CliError::interrupted()),
        }
    }

    /// Sends a request whose body will be read line by line.
    pub async fn open_stream(&self, request: &HttpRequest) -> Result<reqwest::Response> {
        if request.target != Target::PLATFORM {
            return self.open_stream_once(request, None).await;
        }
        // As for `send`: a platform 401 renews the login once and opens the stream again.
        let bearer = self.session()?.bearer(self).await?;
        let response = self.open_stream_once(request, Some(&bearer)).await?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        drop(response);
        let renewed = self.session()?.refresh(self, &bearer).await?;
        self.open_stream_once(request, Some(&renewed)).await
    }

    async fn open_stream_once(
        &self,
        request: &HttpRequest,
        bearer: Option<&str>,
    ) -> Result<reqwest::Response> {
        let url = self.url_for(request)?;
        let method = method_of(request)?;
        let built = self.build(request, method, &url, bearer).await?;
        log_request(&built);
        tokio::select! {
            r = self.http.execute(built) => r.map_err(|e| errors::transport_error(&e, &url)),
            () = self.interrupt.wait() => Err(CliError::interrupted()),
        }
    }

    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    fn url_for(&self, request: &HttpRequest) -> Result<String> {
        let path = request.url.as_str();
        match request.target {
            Target::BACKEND => {
                let backend = self.backend.get().ok_or_else(CliError::not_linked)?;
                Ok(format!("{}{}", backend.base_url, path))
            }
            Target::PLATFORM => Ok(format!("{}{}", self.session()?.platform_url(), path)),
            Target::ABSOLUTE => Ok(path.to_owned()),
            other => Err(CliError::plugin(format!(
                "unknown request target {} (the plugin needs a newer insforge)",
                other.0
            ))),
        }
    }

    async fn build(
        &self,
        request: &HttpRequest,
        method: reqwest::Method,
        url: &str,
        bearer: Option<&str>,
    ) -> Result<reqwest::Request> {
        let mut headers = HeaderMap::new();
        for pair in request.headers.iter() {
            let name = HeaderName::from_bytes(pair.0.as_bytes())
                .map_err(|_| CliError::plugin(format!("invalid header name `{}`", pair.0)))?;
            if name == AUTHORIZATION {
                continue;
            }
            let value = HeaderValue::from_str(pair.1.as_str())
                .map_err(|_| CliError::plugin(format!("invalid value for header `{}`", pair.0)))?;
            headers.insert(name, value);
        }
        let credential = match request.target {
            Target::BACKEND => self.backend.get().map(|b| b.api_key.as_str()),
            Target::PLATFORM => bearer,
            _ => None,
        };
        if let Some(secret) = credential {
            let mut value = HeaderValue::from_str(&format!("Bearer {secret}"))
                .map_err(|_| CliError::general("the stored credential is not valid text"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }

        let mut builder = self.http.request(method, url).headers(headers.clone());
        if request.timeout_ms > 0 {
            builder = builder.timeout(Duration::from_millis(request.timeout_ms));
        }
        builder = match request.body_kind {
            BodyKind::NONE => builder,
            BodyKind::JSON | BodyKind::BYTES => {
                let b = builder.body(request.body.to_vec());
                if headers.contains_key(CONTENT_TYPE) {
                    b
                } else if request.body_kind == BodyKind::JSON {
                    b.header(CONTENT_TYPE, "application/json")
                } else {
                    b.header(CONTENT_TYPE, "application/octet-stream")
                }
            }
            BodyKind::FILE => builder.body(file_body(Path::new(request.body_path.as_str())).await?),
            BodyKind::MULTIPART => builder.multipart(multipart(request).await?),
            other => {
                return Err(CliError::plugin(format!(
                    "unknown body kind {} (the plugin needs a newer insforge)",
                    other.0
                )))
            }
        };
        builder
            .build()
            .map_err(|e| CliError::usage(format!("invalid request URL {url}: {e}")))
    }

    async fn read(&self, request: &HttpRequest, response: reqwest::Response) -> Result<Answer> {
        let status = response.status().as_u16();
        let headers = response_headers(&response);
        let url = response.url().to_string();
        let to_file = request.response_mode == ResponseMode::FILE && (200..300).contains(&status);
        if to_file {
            let path = Path::new(request.response_path.as_str());
            let bytes_written = self.download(response, path, &url).await?;
            return Ok(Answer {
                status,
                headers,
                body: Vec::new(),
                bytes_written,
            });
        }
        let body = tokio::select! {
            b = response.bytes() => b.map_err(|e| errors::transport_error(&e, &url))?,
            () = self.interrupt.wait() => return Err(CliError::interrupted()),
        };
        Ok(Answer {
            status,
            headers,
            body: body.to_vec(),
            bytes_written: 0,
        })
    }

    /// Streams a body into a temporary file beside `path`, renamed into place only when complete.
    async fn download(&self, response: reqwest::Response, path: &Path, url: &str) -> Result<u64> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".insforge-download-")
            .tempfile_in(&dir)
            .map_err(|e| CliError::general(format!("cannot write to {}: {e}", dir.display())))?;
        let mut file = tokio::fs::File::from_std(tmp.reopen()?);
        let mut stream = response.bytes_stream();
        let mut written = 0u64;
        loop {
            let chunk = tokio::select! {
                c = stream.next() => c,
                () = self.interrupt.wait() => return Err(CliError::interrupted()),
            };
            match chunk {
                None => break,
                Some(Ok(bytes)) => {
                    file.write_all(&bytes).await?;
                    written += bytes.len() as u64;
                }
                Some(Err(e)) => return Err(errors::transport_error(&e, url)),
            }
        }
        file.sync_all().await?;
        tmp.persist(path).map_err(|e| {
            CliError::general(format!("cannot write {}: {}", path.display(), e.error))
        })?;
        Ok(written)
    }
}

fn method_of(request: &HttpRequest) -> Result<reqwest::Method> {
    reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| CliError::plugin(format!("invalid HTTP method `{}`", request.method)))
}

/// Statuses that mean "not now" rather than "no": a gateway or a server briefly unavailable.
fn retryable_status(status: u16) -> bool {
    matches!(status, 502..=504)
}

/// How long the answer asks to wait before the retry: `Retry-After` in seconds, capped at
/// [`MAX_RETRY_AFTER`]. An HTTP date (rare from APIs) or an unreadable value is ignored, and the
/// usual wait applies.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let seconds: f64 = text.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        seconds.min(MAX_RETRY_AFTER.as_secs_f64()),
    ))
}

async fn file_body(path: &Path) -> Result<reqwest::Body> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| CliError::general(format!("cannot read {}: {e}", path.display())))?;
    Ok(reqwest::Body::wrap_stream(
        tokio_util::io::ReaderStream::new(file),
    ))
}

async fn multipart(request: &HttpRequest) -> Result<reqwest::multipart::Form> {
    let mut form = reqwest::multipart::Form::new();
    for part in request.parts.iter() {
        let mut p = match part.path.as_ref().into_option() {
            Some(path) => {
                let path = Path::new(path.as_str());
                let len = tokio::fs::metadata(path)
                    .await
                    .map_err(|e| CliError::general(format!("cannot read {}: {e}", path.display())))?
                    .len();
                reqwest::multipart::Part::stream_with_length(file_body(path).await?, len)
            }
            None => reqwest::multipart::Part::bytes(part.bytes.to_vec()),
        };
        if let Some(name) = part.filename.as_ref().into_option() {
            p = p.file_name(name.to_string());
        }
        if let Some(ct) = part.content_type.as_ref().into_option() {
            p = p
                .mime_str(ct.as_str())
                .map_err(|_| CliError::plugin(format!("invalid content type `{ct}`")))?;
        }
        form = form.part(part.name.to_string(), p);
    }
    Ok(form)
}

pub fn response_headers(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn log_request(request: &reqwest::Request) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    tracing::debug!(
        "-> {} {}",
        request.method(),
        redact_url(request.url().as_str())
    );
    for (name, value) in request.headers() {
        tracing::debug!(
            "   {}: {}",
            title_case(name.as_str()),
            redact_header(name.as_str(), value)
        );
    }
}

/// `content-type` → `Content-Type`, as headers are usually written.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Header values that carry credentials are never logged.
fn redact_header(name: &str, value: &HeaderValue) -> String {
    let name = name.to_ascii_lowercase();
    if name == "authorization" {
        let text = value.to_str().unwrap_or("");
        match text.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} ***"),
            None => "***".to_owned(),
        }
    } else if matches!(name.as_str(), "x-api-key" | "cookie" | "set-cookie") || value.is_sensitive()
    {
        "***".to_owned()
    } else {
        String::from_utf8_lossy(value.as_bytes()).into_owned()
    }
}

/// Query strings may carry tokens (pre-signed URLs) and URLs may carry a user and password;
/// neither is logged.
fn redact_url(url: &str) -> String {
    let url = match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("***");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    };
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?***"),
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_is_logged_as_scheme_and_stars() {
        let v = HeaderValue::from_static("Bearer ik_secret");
        assert_eq!(redact_header("Authorization", &v), "Bearer ***");
        assert_eq!(redact_header("x-api-key", &v), "***");
        assert_eq!(
            redact_header("Set-Cookie", &HeaderValue::from_static("refreshToken=rt")),
            "***"
        );
        assert_eq!(
            redact_header("content-type", &HeaderValue::from_static("a/b")),
            "a/b"
        );
    }

    #[test]
    fn header_names_are_logged_in_title_case() {
        assert_eq!(title_case("authorization"), "Authorization");
        assert_eq!(title_case("x-api-key"), "X-Api-Key");
    }

    #[test]
    fn only_gateway_and_unavailable_statuses_are_retried() {
        for status in [502, 503, 504] {
            assert!(retryable_status(status), "{status}");
        }
        for status in [200, 400, 404, 429, 500, 501, 505] {
            assert!(!retryable_status(status), "{status}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let wait = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                reqwest::header::RETRY_AFTER,
                HeaderValue::from_str(value).unwrap(),
            );
            retry_after(&headers)
        };
        assert_eq!(wait("2"), Some(Duration::from_secs(2)));
        assert_eq!(wait(" 0 "), Some(Duration::ZERO));
        assert_eq!(wait("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(wait("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(wait("1e300"), Some(MAX_RETRY_AFTER));
        assert_eq!(wait("-1"), None);
        assert_eq!(wait("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn query_strings_are_not_logged() {
        assert_eq!(redact_url("https://h/p?sig=abc"), "https://h/p?***");
        assert_eq!(redact_url("http://user:pw@h:1/p"), "http://***@h:1/p");
    }
}
