//! The host's one error type. Its kind decides the exit code and the `--json` error code.

use std::process::ExitCode;

/// Why a command failed, which selects the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Anything else.
    General,
    /// Bad arguments or input.
    Usage,
    /// Not logged in, or credentials rejected.
    NotAuthenticated,
    /// No linked project.
    NotLinked,
    /// A named resource does not exist.
    NotFound,
    /// The server refused.
    PermissionDenied,
    /// The network failed.
    Network,
    /// A server answered with an error status that maps to no other kind.
    Http,
    /// A plugin is missing, incompatible, broken or crashed.
    Plugin,
    /// Ctrl-C.
    Interrupted,
}

impl Kind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::General | Kind::Usage | Kind::Network | Kind::Http => 1,
            Kind::NotAuthenticated => 2,
            Kind::NotLinked => 3,
            Kind::NotFound => 4,
            Kind::PermissionDenied => 5,
            Kind::Plugin => 6,
            Kind::Interrupted => 130,
        }
    }

    /// The code used in the `--json` error line when the server sent none.
    pub fn default_code(self) -> &'static str {
        match self {
            Kind::General => "UNKNOWN_ERROR",
            Kind::Usage => "USAGE_ERROR",
            Kind::NotAuthenticated => "AUTH_ERROR",
            Kind::NotLinked => "PROJECT_NOT_LINKED",
            Kind::NotFound => "NOT_FOUND",
            Kind::PermissionDenied => "PERMISSION_DENIED",
            Kind::Network => "NETWORK_ERROR",
            Kind::Http => "HTTP_ERROR",
            Kind::Plugin => "PLUGIN_ERROR",
            Kind::Interrupted => "INTERRUPTED",
        }
    }
}

/// An error on its way to the user: `error:` line, `hint:` lines, exit code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
    pub hints: Vec<String>,
    /// The server's error code, when it sent one.
    pub code: Option<String>,
    /// Already shown in human form (clap's usage text); only the JSON line is left to print.
    pub shown: bool,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        CliError {
            kind,
            message: message.into(),
            hints: Vec::new(),
            code: None,
            shown: false,
        }
    }

    pub fn general(message: impl Into<String>) -> Self {
        Self::new(Kind::General, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn plugin(message: impl Into<String>) -> Self {
        Self::new(Kind::Plugin, message)
    }

    pub fn not_linked() -> Self {
        Self::new(
            Kind::NotLinked,
            "no project is linked to this directory or any directory above it",
        )
        .with_hint("run `insforge link` in your project's directory")
    }

    /// Ctrl-C (exit 130).
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted")
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        let hint = hint.into();
        if !hint.is_empty() && !self.hints.contains(&hint) {
            self.hints.push(hint);
        }
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The code for the `--json` error line.
    pub fn json_code(&self) -> &str {
        self.code
            .as_deref()
            .unwrap_or_else(|| self.kind.default_code())
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        CliError::general(err.to_string())
    }
}
