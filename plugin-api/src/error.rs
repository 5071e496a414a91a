//! The error a plugin returns; its kind selects the process exit code.

use abi_stable::std_types::{ROption, RString, RVec};

use crate::abi::{RawError, Target};

/// What went wrong, which decides the exit code the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Anything else (exit 1).
    General,
    /// Bad arguments or input the plugin checked itself (exit 1).
    Usage,
    /// Not logged in, or credentials rejected (exit 2).
    NotAuthenticated,
    /// The directory is not linked to a project (exit 3).
    NotLinked,
    /// A named resource does not exist (exit 4).
    NotFound,
    /// The server refused the operation (exit 5).
    PermissionDenied,
    /// The network failed (exit 1).
    Network,
    /// A server answered with an error status; the host maps the status (see [`Error::http`]).
    Http,
    /// The user pressed Ctrl-C (exit 130).
    Interrupted,
    /// The plugin itself failed (exit 6).
    Plugin,
    /// The plugin panicked (exit 6); produced by [`export_plugin!`](crate::export_plugin).
    Crashed,
}

impl ErrorKind {
    fn to_raw(self) -> u8 {
        match self {
            ErrorKind::General => 1,
            ErrorKind::Usage => 2,
            ErrorKind::NotAuthenticated => 3,
            ErrorKind::NotLinked => 4,
            ErrorKind::NotFound => 5,
            ErrorKind::PermissionDenied => 6,
            ErrorKind::Network => 7,
            ErrorKind::Http => 8,
            ErrorKind::Interrupted => 9,
            ErrorKind::Plugin => 10,
            ErrorKind::Crashed => 11,
        }
    }

    /// Decodes a kind sent over the ABI; unknown values (from a newer peer) are general errors.
    pub fn from_raw(raw: u8) -> Self {
        match raw {
            2 => ErrorKind::Usage,
            3 => ErrorKind::NotAuthenticated,
            4 => ErrorKind::NotLinked,
            5 => ErrorKind::NotFound,
            6 => ErrorKind::PermissionDenied,
            7 => ErrorKind::Network,
            8 => ErrorKind::Http,
            9 => ErrorKind::Interrupted,
            10 => ErrorKind::Plugin,
            11 => ErrorKind::Crashed,
            _ => ErrorKind::General,
        }
    }
}

/// An HTTP answer that failed, kept whole so the host can word the error uniformly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpFailure {
    /// The status code.
    pub status: u16,
    /// The response body as received.
    pub body: Vec<u8>,
    /// Which server answered.
    pub target: Target,
}

/// An error returned by a plugin command.
///
/// ```
/// use insforge_plugin_api::{Error, ErrorKind};
/// let err = Error::usage("--data is not valid JSON").with_hint("quote it for your shell");
/// assert_eq!(err.kind(), ErrorKind::Usage);
/// ```
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
    code: Option<String>,
    http: Option<HttpFailure>,
}

/// Result type of plugin commands.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
            code: None,
            http: None,
        }
    }

    /// A general failure (exit 1).
    pub fn general(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::General, message)
    }

    /// Bad input (exit 1, code `USAGE_ERROR`).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }

    /// A named resource that does not exist (exit 4).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// A failed HTTP answer. The host words the message from the body (the server's `message`,
    /// its `nextActions` as the hint, its `error` as the code) and picks the exit code from the
    /// status: 401 → 2, 403 → 5, a 404 naming a resource → 4, anything else → 1.
    pub fn http(target: Target, status: u16, body: Vec<u8>) -> Self {
        let mut err = Self::new(
            ErrorKind::Http,
            format!("request failed with status {status}"),
        );
        err.http = Some(HttpFailure {
            status,
            body,
            target,
        });
        err
    }

    /// Adds a hint: what the user can do next.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Sets the machine-readable code for the `--json` error line.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The machine-readable code, if any.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The failed HTTP answer, for [`ErrorKind::Http`].
    pub fn http_failure(&self) -> Option<&HttpFailure> {
        self.http.as_ref()
    }

    /// Converts to the ABI form.
    pub fn into_raw(self) -> RawError {
        let (status, body, target) = match self.http {
            Some(h) => (h.status, h.body, h.target),
            None => (0, Vec::new(), Target::BACKEND),
        };
        RawError {
            kind: self.kind.to_raw(),
            message: RString::from(self.message),
            hint: self.hint.map(RString::from).into(),
            code: self.code.map(RString::from).into(),
            status,
            body: RVec::from(body),
            target,
        }
    }

    /// Converts from the ABI form.
    pub fn from_raw(raw: RawError) -> Self {
        let kind = ErrorKind::from_raw(raw.kind);
        let http = (kind == ErrorKind::Http).then(|| HttpFailure {
            status: raw.status,
            body: raw.body.into_vec(),
            target: raw.target,
        });
        Error {
            kind,
            message: raw.message.into_string(),
            hint: into_option(raw.hint),
            code: into_option(raw.code),
            http,
        }
    }
}

fn into_option(value: ROption<RString>) -> Option<String> {
    value.into_option().map(RString::into_string)
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::general(err.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::general(format!("invalid JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_survive_the_abi_round_trip() {
        let err = Error::http(Target::BACKEND, 404, b"{\"error\":\"X\"}".to_vec())
            .with_hint("h")
            .with_code("C");
        let back = Error::from_raw(err.clone().into_raw());
        assert_eq!(back.kind(), ErrorKind::Http);
        assert_eq!(back.hint(), Some("h"));
        assert_eq!(back.code(), Some("C"));
        assert_eq!(back.http_failure(), err.http_failure());
    }

    #[test]
    fn unknown_kind_from_a_newer_plugin_is_general() {
        assert_eq!(ErrorKind::from_raw(200), ErrorKind::General);
    }
}
