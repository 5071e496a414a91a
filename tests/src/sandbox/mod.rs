//! The sandbox: a fake InsForge project backend, with real PostgreSQL behind its database
//! routes, and a fake InsForge cloud platform ([`platform`]), that tests (ours and
//! third-party plugin authors') run the CLI against.
//!
//! It serves the backend's and the platform's routes on one loopback port, answers errors
//! in their shapes, and adds a few test-only control routes under `/_sandbox/` (scripted
//! faults, a log of the requests it received, platform scripting). Start it in-process
//! with [`Sandbox::start`] (inside a tokio runtime) or [`Sandbox::spawn`] (from synchronous
//! code, on a thread of its own), or as the `insforge-sandbox` binary. `docs/sandbox.md`
//! describes the routes and formats.

mod auth;
mod control;
pub mod db;
mod errors;
pub mod faults;
mod json_body;
mod metadata;
pub mod pg_json;
pub mod platform;
pub mod request_log;
mod server;
pub mod sql_text;
mod state;
pub mod testdb;
mod url;
mod usage;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use errors::ApiError;
pub use faults::Fault;
use platform::PlatformConfig;
pub use platform::{PlatformOrg, PlatformProject};
pub use request_log::LoggedRequest;
use state::SandboxState;

/// Default cap on a request body: larger uploads are answered with 413.
pub const DEFAULT_MAX_UPLOAD: u64 = 100 * 1024 * 1024;

/// The backend's statement timeout for raw SQL.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How a sandbox is set up. Build one with [`SandboxConfig::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The project API key that admin routes accept (`Authorization: Bearer <key>` or
    /// `x-api-key: <key>`).
    pub api_key: String,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// PostgreSQL behind the database routes; `None` makes them answer 500.
    pub database_url: Option<String>,
    /// Where storage keeps objects; `None` means a fresh temporary directory, removed when
    /// the sandbox stops.
    pub data_dir: Option<PathBuf>,
    /// Faults scripted from the start (as if posted to `/_sandbox/faults`).
    pub faults: Vec<Fault>,
    /// Largest request body accepted, in bytes.
    pub max_upload: u64,
    /// Statement timeout for raw SQL (the backend uses 30 s; tests may shorten it).
    pub statement_timeout: Duration,
    /// The fake platform: seeded organisations and projects, timings.
    pub platform: PlatformConfig,
}

impl SandboxConfig {
    /// A config with the given API key, a free port, no database and the defaults.
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            port: 0,
            database_url: None,
            data_dir: None,
            faults: Vec::new(),
            max_upload: DEFAULT_MAX_UPLOAD,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            platform: PlatformConfig::default(),
        }
    }

    /// Points the database routes at this PostgreSQL URL (`postgres://...`).
    pub fn with_database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Listens on this port of 127.0.0.1 instead of a free one.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Keeps storage under this directory instead of a temporary one.
    pub fn with_data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Scripts these faults from the start.
    pub fn with_faults(mut self, faults: Vec<Fault>) -> Self {
        self.faults = faults;
        self
    }

    /// Caps request bodies at this many bytes.
    pub fn with_max_upload(mut self, bytes: u64) -> Self {
        self.max_upload = bytes;
        self
    }

    /// Sets the raw-SQL statement timeout.
    pub fn with_statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// Seeds the platform with these organisations (and their projects) instead of
    /// [`platform::default_orgs`]; an empty list means a user without organisations.
    pub fn with_platform_orgs(mut self, orgs: Vec<PlatformOrg>) -> Self {
        self.platform.orgs = orgs;
        self
    }

    /// Seeds the platform with one organisation only: Acme Labs and its two projects.
    pub fn with_single_org(self) -> Self {
        self.with_platform_orgs(vec![platform::acme_org()])
    }

    /// How long a created project stays `creating` before it turns `active` (default 1 s).
    pub fn with_project_ready_delay(mut self, delay: Duration) -> Self {
        self.platform.project_ready_delay = delay;
        self
    }

    /// The device flow's polling `interval` (default 1 s).
    pub fn with_device_interval(mut self, interval: Duration) -> Self {
        self.platform.device_interval = interval;
        self
    }

    /// How long a device code stays valid (default 600 s).
    pub fn with_device_expiry(mut self, expiry: Duration) -> Self {
        self.platform.device_expiry = expiry;
        self
    }
}

/// Entry points for starting a sandbox.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Starts a sandbox on the current tokio runtime and returns once it is listening.
    pub async fn start(config: SandboxConfig) -> io::Result<SandboxHandle> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let (data_dir, temp_dir) = prepare_data_dir(config.data_dir.as_deref())?;
        let base_url = format!("http://{addr}");
        let state = SandboxState::new(&config, data_dir.clone(), base_url.clone());
        db::prepare_database(&state).await;
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let task = tokio::spawn(server::serve(listener, state.clone(), async {
            let _ = shutdown_rx.await;
        }));
        Ok(SandboxHandle {
            addr,
            base_url,
            data_dir,
            state,
            shutdown: Some(shutdown_tx),
            runner: Runner::Task(Some(task)),
            _temp_dir: temp_dir,
        })
    }

    /// Starts a sandbox on a thread with its own tokio runtime, for synchronous tests. The
    /// sandbox stops when the handle is dropped (or [`SandboxHandle::stop`] is called).
    pub fn spawn(config: SandboxConfig) -> io::Result<SandboxHandle> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("insforge-sandbox".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = ready_tx.send(Err(err));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut handle = match Sandbox::start(config).await {
                        Ok(handle) => handle,
                        Err(err) => {
                            let _ = ready_tx.send(Err(err));
                            return;
                        }
                    };
                    let (stop_tx, stop_rx) = oneshot::channel::<()>();
                    let parts = HandleParts {
                        addr: handle.addr,
                        data_dir: handle.data_dir.clone(),
                        state: handle.state.clone(),
                        stop: stop_tx,
                    };
                    if ready_tx.send(Ok(parts)).is_err() {
                        return;
                    }
                    let _ = stop_rx.await;
                    handle.shutdown_and_wait().await;
                });
            })?;
        let parts = ready_rx
            .recv()
            .map_err(|_| io::Error::other("the sandbox thread ended before it was ready"))??;
        Ok(SandboxHandle {
            addr: parts.addr,
            base_url: format!("http://{}", parts.addr),
            data_dir: parts.data_dir,
            state: parts.state,
            shutdown: Some(parts.stop),
            runner: Runner::Thread(Some(thread)),
            _temp_dir: None,
        })
    }
}

/// What the sandbox thread hands back to [`Sandbox::spawn`].
struct HandleParts {
    addr: SocketAddr,
    data_dir: PathBuf,
    state: SandboxState,
    stop: oneshot::Sender<()>,
}

enum Runner {
    Task(Option<tokio::task::JoinHandle<()>>),
    Thread(Option<std::thread::JoinHandle<()>>),
}

/// A running sandbox. Dropping it stops the server.
pub struct SandboxHandle {
    addr: SocketAddr,
    base_url: String,
    data_dir: PathBuf,
    state: SandboxState,
    shutdown: Option<oneshot::Sender<()>>,
    runner: Runner,
    _temp_dir: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl SandboxHandle {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The base URL joined with `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The directory storage keeps its objects in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Scripts a fault, as `POST /_sandbox/faults` does.
    pub fn add_fault(&self, fault: Fault) {
        self.state.faults.add(vec![fault]);
    }

    /// Removes every scripted fault, as `DELETE /_sandbox/faults` does.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// The requests received so far (control routes excluded), oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.state.requests.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.state.requests.clear();
    }

    /// Makes every platform access token issued so far invalid (401), as if they had
    /// expired; refresh tokens stay valid. Tokens issued afterwards work.
    pub fn expire_access_tokens(&self) {
        self.state.platform.expire_access_tokens();
    }

    /// The user API key the platform accepts ([`platform::USER_API_KEY`]).
    pub fn valid_user_api_key(&self) -> &'static str {
        platform::USER_API_KEY
    }

    /// Issues platform tokens for the test user without a login flow:
    /// `(access_token, refresh_token)`, e.g. for writing `credentials.json`.
    pub fn issue_tokens(&self) -> (String, String) {
        let pair = self.state.platform.issue_tokens();
        (pair.access, pair.refresh)
    }

    /// Approves the pending device login with this user code (case and `-` ignored);
    /// `false` when there is none (unknown, already decided or expired).
    pub fn approve_device(&self, user_code: &str) -> bool {
        self.state.platform.decide_device(user_code, true)
    }

    /// Denies the pending device login with this user code; `false` when there is none.
    pub fn deny_device(&self, user_code: &str) -> bool {
        self.state.platform.decide_device(user_code, false)
    }

    /// The user codes of device logins waiting for a decision, oldest first.
    pub fn pending_device_codes(&self) -> Vec<String> {
        self.state.platform.pending_user_codes()
    }

    /// Every platform project with its current status (seeded and created), as
    /// `GET /projects/v1/{id}` shows them.
    pub fn platform_projects(&self) -> Vec<serde_json::Value> {
        self.state.platform.all_projects()
    }

    /// Stops the server and waits for it to finish (from synchronous code).
    ///
    /// For a sandbox made by [`Sandbox::start`], prefer [`SandboxHandle::shutdown`]: this
    /// only signals it to stop.
    pub fn stop(mut self) {
        self.signal_stop();
        if let Runner::Thread(thread) = &mut self.runner {
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
        }
    }

    /// Stops the server and waits until it has finished.
    pub async fn shutdown(mut self) {
        self.shutdown_and_wait().await;
    }

    async fn shutdown_and_wait(&mut self) {
        self.signal_stop();
        match &mut self.runner {
            Runner::Task(task) => {
                if let Some(task) = task.take() {
                    let _ = task.await;
                }
            }
            Runner::Thread(thread) => {
                if let Some(thread) = thread.take() {
                    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                }
            }
        }
    }

    fn signal_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.signal_stop();
        if let Runner::Thread(thread) = &mut self.runner {
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// Runs a sandbox until SIGINT or SIGTERM; `on_listening` is called with the base URL once
/// the port is bound (the binary prints it).
pub async fn run(config: SandboxConfig, on_listening: impl FnOnce(&str)) -> io::Result<()> {
    let handle = Sandbox::start(config).await?;
    on_listening(handle.base_url());
    tracing::info!(url = handle.base_url(), data_dir = %handle.data_dir().display(), "sandbox listening");
    wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn prepare_data_dir(dir: Option<&Path>) -> io::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            Ok((dir.to_path_buf(), None))
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("insforge-sandbox-")
                .tempdir()?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}
