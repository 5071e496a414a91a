//! The fixture kit for end-to-end tests: a temporary HOME and working directory, the real built
//! `insforge` binary with the real built plugins, and a sandbox on a fresh PostgreSQL database.
//!
//! ```ignore
//! let t = TestEnv::linked();
//! let run = t.run(&["db", "query", "select 1"]);
//! insta::assert_snapshot!(run.transcript());
//! ```

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::sandbox::{Sandbox, SandboxConfig, SandboxHandle};

/// The API key the sandbox accepts in tests.
pub const API_KEY: &str = "ik_e2e_0123456789abcdef";

/// `target/<profile>/`, where cargo leaves `insforge` and the plugin libraries side by side.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    // target/<profile>/deps/<test binary>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps")
        .to_path_buf();
    let bin = dir.join(format!("insforge{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build the workspace first (`cargo build --workspace`, or `scripts/test`)",
        bin.display()
    );
    dir
}

/// The path of the `insforge` binary under test.
pub fn insforge_bin() -> PathBuf {
    bin_dir().join(format!("insforge{}", std::env::consts::EXE_SUFFIX))
}

/// The administrative PostgreSQL URL the tests create their databases with.
pub fn admin_database_url() -> String {
    std::env::var("DATABASE_URL").expect(
        "DATABASE_URL is not set: run the tests with `scripts/test`, which starts PostgreSQL",
    )
}

/// The outcome of one `insforge` run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout_bytes: Vec<u8>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Exit code, stdout and stderr in one text, for whole-output snapshots.
    pub fn transcript(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// The last line of stderr, parsed as the `--json` error line.
    pub fn json_error(&self) -> serde_json::Value {
        let last = self.stderr.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("last stderr line is not JSON ({e}):\n{}", self.stderr))
    }

    /// stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout))
    }

    /// Panics with the whole transcript unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "unexpected exit code\n{}",
            self.transcript()
        );
        self
    }
}

/// A temporary user (HOME) and project directory, optionally with a sandbox.
pub struct TestEnv {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
    sandbox: Option<SandboxHandle>,
    envs: Vec<(String, String)>,
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    /// A fresh HOME and working directory, no sandbox, nothing linked.
    pub fn new() -> Self {
        TestEnv {
            home: tempfile::tempdir().expect("temporary HOME"),
            work: tempfile::tempdir().expect("temporary working directory"),
            sandbox: None,
            envs: Vec::new(),
        }
    }

    /// A sandbox on a fresh database, not yet linked.
    pub fn with_sandbox() -> Self {
        Self::with_config(true, |c| c)
    }

    /// A sandbox without a database, for the platform (login, organisations, projects):
    /// `INSFORGE_API_URL` points every run at it.
    pub fn with_platform() -> Self {
        Self::with_config(false, |c| c)
    }

    /// A sandbox set up by `configure`, on a fresh database when `database` is true;
    /// `INSFORGE_API_URL` points every run at its fake platform.
    pub fn with_config(
        database: bool,
        configure: impl FnOnce(SandboxConfig) -> SandboxConfig,
    ) -> Self {
        let mut env = Self::new();
        let mut config = SandboxConfig::new(API_KEY);
        if database {
            let url = crate::sandbox::testdb::fresh_database(&admin_database_url())
                .expect("a fresh test database");
            config = config.with_database_url(url);
        }
        let sandbox = Sandbox::spawn(configure(config)).expect("the sandbox starts");
        let url = sandbox.base_url().to_owned();
        env.sandbox = Some(sandbox);
        env.env("INSFORGE_API_URL", url);
        env
    }

    /// Logs in through the real `insforge login --email` (any email and password work on the
    /// sandbox), without a terminal.
    pub fn login(&self) -> &Self {
        let mut cmd = self.command(self.cwd(), &["login", "--email"]);
        cmd.env("INSFORGE_EMAIL", "ada@example.com")
            .env("INSFORGE_PASSWORD", "correct horse battery staple");
        let run = self.finish(cmd, None);
        run.expect_code(0);
        self
    }

    /// `~/.insforge/credentials.json`.
    pub fn credentials_path(&self) -> PathBuf {
        self.home().join(".insforge").join("credentials.json")
    }

    /// The stored credentials, parsed.
    pub fn credentials(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.credentials_path()).expect("credentials exist");
        serde_json::from_str(&text).expect("credentials are JSON")
    }

    /// The file the test's `BROWSER` stand-in appends every URL it is asked to open to.
    pub fn browser_log(&self) -> PathBuf {
        self.home().join("browser-opened.log")
    }

    /// Starts `insforge args` in the working directory without waiting, stdin closed, so a
    /// test can act while it runs (follow a login URL, approve a device code).
    pub fn spawn(&self, args: &[&str]) -> Spawned {
        let mut cmd = self.command(self.cwd(), args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("insforge starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        Spawned {
            child,
            lines: rx,
            reader: Some(reader),
        }
    }

    /// A sandbox on a fresh database, with the working directory linked to it through the real
    /// `insforge link`.
    pub fn linked() -> Self {
        let env = Self::with_sandbox();
        let url = env.sandbox().base_url().to_owned();
        env.run(&["link", "--api-base-url", &url, "--api-key", API_KEY])
            .expect_code(0);
        env
    }

    pub fn sandbox(&self) -> &SandboxHandle {
        self.sandbox
            .as_ref()
            .expect("this test environment has a sandbox")
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn cwd(&self) -> &Path {
        self.work.path()
    }

    /// Sets an environment variable for every later run.
    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.envs.push((
            key.to_owned(),
            value.as_ref().to_string_lossy().into_owned(),
        ));
        self
    }

    /// Writes a file under the working directory and returns its path.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.cwd().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent directory");
        }
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    /// A command for the real binary, with a clean environment: temporary HOME, no inherited
    /// InsForge settings, no colour.
    pub fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(insforge_bin());
        cmd.args(args)
            .current_dir(dir)
            .env("HOME", self.home())
            .env_remove("INSFORGE_PLUGIN_PATH")
            .env_remove("INSFORGE_API_URL")
            .env_remove("INSFORGE_ACCESS_TOKEN")
            .env_remove("INSFORGE_PROJECT_ID")
            .env_remove("INSFORGE_DEBUG")
            .env_remove("INSFORGE_LOG")
            .env_remove("INSFORGE_EMAIL")
            .env_remove("INSFORGE_PASSWORD")
            .env_remove("INSFORGE_FRONTEND_URL")
            .env_remove("NO_COLOR")
            .env_remove("RUST_BACKTRACE")
            // A stand-in browser that only records what it was asked to open: no test ever
            // starts a real browser, and a test can prove none was started.
            .env("BROWSER", self.browser_stub());
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `insforge args` in the working directory, with stdin closed.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.cwd(), args)
    }

    /// Runs `insforge args` in `dir`, with stdin closed.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        self.run_full(dir, args, None)
    }

    /// Runs `insforge args` with `stdin` as its standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        self.run_full(self.cwd(), args, Some(stdin))
    }

    /// Runs `insforge args` with extra environment variables for this run only.
    pub fn run_with_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(self.cwd(), args);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        self.finish(cmd, None)
    }

    fn browser_stub(&self) -> PathBuf {
        let path = self.home().join("browser-stub.sh");
        if !path.exists() {
            let script = format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                self.browser_log().display()
            );
            std::fs::write(&path, script).expect("write the browser stand-in");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                    .expect("make the browser stand-in executable");
            }
        }
        path
    }

    fn run_full(&self, dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let cmd = self.command(dir, args);
        self.finish(cmd, stdin)
    }

    /// Runs a command made by [`TestEnv::command`] (and adjusted by the test), stdin closed.
    pub fn run_command(&self, cmd: Command) -> Run {
        self.finish(cmd, None)
    }

    fn finish(&self, mut cmd: Command, stdin: Option<&[u8]>) -> Run {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd.spawn().expect("insforge starts");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            pipe.write_all(input).expect("write stdin");
        }
        let out = child.wait_with_output().expect("insforge finishes");
        let stdout = self.redact(&String::from_utf8_lossy(&out.stdout));
        let stderr = self.redact(&String::from_utf8_lossy(&out.stderr));
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout_bytes: out.stdout,
            stdout,
            stderr,
        }
    }

    /// Replaces what differs between runs (ports, temporary paths) with stable names.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        if let Some(s) = &self.sandbox {
            text = text.replace(s.base_url(), "[SANDBOX]");
        }
        for (dir, name) in [(self.cwd(), "[WORK]"), (self.home(), "[HOME]")] {
            if let Ok(real) = dir.canonicalize() {
                text = text.replace(&real.display().to_string(), name);
            }
            text = text.replace(&dir.display().to_string(), name);
        }
        text.replace(&bin_dir().display().to_string(), "[BIN]")
    }
}

/// A running `insforge`, started by [`TestEnv::spawn`].
pub struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
    reader: Option<std::thread::JoinHandle<String>>,
}

impl Spawned {
    /// Waits (up to 30 s) for a stderr line matching `pred` and returns it.
    #[track_caller]
    pub fn wait_for_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if pred(&line) => return line,
                Ok(_) => {}
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("insforge printed no such line on stderr within 30 s");
                }
            }
        }
    }

    /// Sends SIGINT, as Ctrl-C on a terminal would.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .arg("-INT")
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "could not signal insforge");
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to end and returns its outcome (stderr in full).
    pub fn finish(mut self, env: &TestEnv) -> Run {
        let mut stdout = Vec::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_end(&mut out, &mut stdout);
        }
        let status = self.child.wait().expect("insforge finishes");
        let stderr = self
            .reader
            .take()
            .and_then(|r| r.join().ok())
            .unwrap_or_default();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: env.redact(&String::from_utf8_lossy(&stdout)),
            stdout_bytes: stdout,
            stderr: env.redact(&stderr),
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
