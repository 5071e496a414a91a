//! The fixture kit for end-to-end tests: a temporary HOME and working directory, the real built
//! `insforge` binary with the real built plugins, and a sandbox on a fresh PostgreSQL database.
//!
//! ```ignore
//! let t = TestEnv::linked();
//! let run = t.run(&["db", "query", "select 1"]);
//! insta::assert_snapshot!(run.transcript());
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
        let mut env = Self::new();
        let url = crate::sandbox::testdb::fresh_database(&admin_database_url())
            .expect("a fresh test database");
        let config = SandboxConfig::new(API_KEY).with_database_url(url);
        env.sandbox = Some(Sandbox::spawn(config).expect("the sandbox starts"));
        env
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
            .env_remove("NO_COLOR")
            .env_remove("RUST_BACKTRACE");
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

    fn run_full(&self, dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = self.command(dir, args);
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
