//! What a running command sees: its arguments, and the host's services behind a safe API.

use std::path::PathBuf;

use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec, Tuple2};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::abi::{
    BodyKind, HostServicesRef, HttpRequest, HttpResponse, MultipartPart, OutputKind, ResponseMode,
    Target,
};
use crate::error::{Error, ErrorKind, Result};

/// Read-only facts about this run, provided by the host.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct HostContext {
    /// `--json` was given: the result must be one JSON document.
    pub json: bool,
    /// `-y/--yes` was given.
    pub yes: bool,
    /// `-v` count.
    pub verbose: u8,
    /// Whether stdin and stderr are terminals (prompts possible).
    pub interactive: bool,
    /// The working directory the user ran the command in.
    pub cwd: PathBuf,
    /// The linked project, if any.
    pub project: Option<ProjectInfo>,
    /// The directory holding `.insforge/`, if linked.
    pub project_root: Option<PathBuf>,
    /// The host's version.
    pub host_version: String,
}

/// The linked project, without its API key (the host adds credentials to requests itself).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ProjectInfo {
    /// Project id.
    pub project_id: String,
    /// Project name.
    pub project_name: String,
    /// Organisation id.
    pub org_id: String,
    /// Region.
    pub region: String,
    /// The backend's base URL.
    pub oss_host: String,
    /// Linked by URL and API key rather than through the cloud platform.
    pub self_hosted: bool,
}

/// The command the user ran and its checked arguments.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Invocation {
    /// The command path below the plugin, e.g. `["query"]` for `insforge db query`.
    pub command: Vec<String>,
    /// Argument values by name: strings, numbers (integers), booleans (switches), arrays
    /// (repeatable) or null (not given, no default).
    pub args: Map<String, Value>,
}

impl Invocation {
    /// The command path joined with spaces (`"query"`), for matching.
    pub fn command_path(&self) -> String {
        self.command.join(" ")
    }

    /// A text argument, if given.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Value::as_str)
    }

    /// A switch.
    pub fn flag(&self, name: &str) -> bool {
        self.args
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// An integer argument, if given.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.args.get(name).and_then(Value::as_i64)
    }

    /// A repeatable argument's values.
    pub fn strings(&self, name: &str) -> Vec<String> {
        match self.args.get(name) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

/// A request to build and hand to [`Context::send`].
#[derive(Debug, Clone)]
pub struct Request {
    raw: HttpRequest,
}

impl Request {
    fn new(target: Target, method: &str, url: &str) -> Self {
        Request {
            raw: HttpRequest {
                target,
                method: method.to_ascii_uppercase().into(),
                url: url.into(),
                headers: RVec::new(),
                body_kind: BodyKind::NONE,
                body: RVec::new(),
                body_path: RString::new(),
                parts: RVec::new(),
                response_mode: ResponseMode::MEMORY,
                response_path: RString::new(),
                timeout_ms: 0,
            },
        }
    }

    /// A request to the linked project's backend; `path` starts with `/`.
    pub fn backend(method: &str, path: &str) -> Self {
        Self::new(Target::BACKEND, method, path)
    }

    /// A request to the cloud platform; `path` starts with `/`. The host adds the user's token
    /// (`INSFORGE_ACCESS_TOKEN`, else the stored login), and when the platform answers 401 it
    /// renews an expired login once and repeats the request; a login that cannot be renewed
    /// ends the command with exit 2. Declare [`Needs::Login`](crate::Needs::Login) on commands
    /// that use it, so the host checks the login before running them.
    pub fn platform(method: &str, path: &str) -> Self {
        Self::new(Target::PLATFORM, method, path)
    }

    /// A request to an absolute URL, sent without our credentials.
    pub fn absolute(method: &str, url: &str) -> Self {
        Self::new(Target::ABSOLUTE, method, url)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.raw.headers.push(Tuple2(name.into(), value.into()));
        self
    }

    /// Sends a JSON body (serialised compactly, key order kept).
    pub fn json(mut self, body: &Value) -> Self {
        self.raw.body_kind = BodyKind::JSON;
        self.raw.body = serde_json::to_vec(body)
            .expect("a serde_json::Value always serialises")
            .into();
        self
    }

    /// Sends raw bytes; set the content type with [`Request::header`].
    pub fn bytes(mut self, body: Vec<u8>) -> Self {
        self.raw.body_kind = BodyKind::BYTES;
        self.raw.body = body.into();
        self
    }

    /// Streams a file from disk as the body.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.raw.body_kind = BodyKind::FILE;
        self.raw.body_path = path_string(path.into());
        self
    }

    /// Sends `multipart/form-data`.
    pub fn multipart(mut self, form: Multipart) -> Self {
        self.raw.body_kind = BodyKind::MULTIPART;
        self.raw.parts = form.parts.into();
        self
    }

    /// Streams a successful response body into `path` (atomically) instead of memory.
    pub fn save_to(mut self, path: impl Into<PathBuf>) -> Self {
        self.raw.response_mode = ResponseMode::FILE;
        self.raw.response_path = path_string(path.into());
        self
    }

    /// Overrides the host's timeout for this request.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.raw.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The ABI form (for hosts and tests).
    pub fn into_raw(self) -> HttpRequest {
        self.raw
    }

    fn target(&self) -> Target {
        self.raw.target
    }
}

fn path_string(path: PathBuf) -> RString {
    path.to_string_lossy().into_owned().into()
}

/// A `multipart/form-data` body.
#[derive(Debug, Clone, Default)]
pub struct Multipart {
    parts: Vec<MultipartPart>,
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.parts.push(MultipartPart {
            name: name.into(),
            filename: ROption::RNone,
            content_type: ROption::RNone,
            bytes: value.as_bytes().to_vec().into(),
            path: ROption::RNone,
        });
        self
    }

    /// Adds a file field streamed from disk.
    pub fn file(
        mut self,
        name: &str,
        path: impl Into<PathBuf>,
        filename: &str,
        content_type: &str,
    ) -> Self {
        self.parts.push(MultipartPart {
            name: name.into(),
            filename: ROption::RSome(filename.into()),
            content_type: ROption::RSome(content_type.into()),
            bytes: RVec::new(),
            path: ROption::RSome(path_string(path.into())),
        });
        self
    }
}

/// A response: any status, including errors.
#[derive(Debug, Clone)]
pub struct Response {
    target: Target,
    /// HTTP status.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body, when kept in memory.
    pub body: Vec<u8>,
    /// Bytes written to the file given to [`Request::save_to`].
    pub bytes_written: u64,
}

impl Response {
    fn from_raw(target: Target, raw: HttpResponse) -> Self {
        Response {
            target,
            status: raw.status,
            headers: raw
                .headers
                .into_iter()
                .map(|Tuple2(k, v)| (k.into_string(), v.into_string()))
                .collect(),
            body: raw.body.into_vec(),
            bytes_written: raw.bytes_written,
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Turns a non-2xx answer into an [`Error::http`], which the host words uniformly.
    pub fn error_for_status(self) -> Result<Self> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::http(self.target, self.status, self.body))
        }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (numbers keep their digits, objects their key order).
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::general(format!("the server sent invalid JSON: {e}")))
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A table for human output. Cells are JSON values: `null` is shown as `NULL`, strings as they
/// are, objects and arrays as compact JSON.
#[derive(Serialize, Debug, Clone, Default)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<I, S>(columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (missing cells are empty, extra cells are dropped by the host).
    pub fn row(&mut self, cells: Vec<Value>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The services a command may use. Created by the SDK for each run.
pub struct Context<'a> {
    host: HostServicesRef<'a>,
    info: HostContext,
}

impl<'a> Context<'a> {
    /// Wraps the host's services. Called by [`export_plugin!`](crate::export_plugin).
    pub fn new(host: HostServicesRef<'a>) -> Result<Self> {
        let info = serde_json::from_str(host.context().as_str())
            .map_err(|e| Error::new(ErrorKind::Plugin, format!("bad host context: {e}")))?;
        Ok(Context { host, info })
    }

    /// Facts about this run.
    pub fn info(&self) -> &HostContext {
        &self.info
    }

    /// Whether `--json` was given.
    pub fn json_mode(&self) -> bool {
        self.info.json
    }

    /// Sends a request; any status is a [`Response`], only transport failures are errors.
    pub fn send(&self, request: Request) -> Result<Response> {
        let target = request.target();
        into_result(self.host.http(request.into_raw())).map(|r| Response::from_raw(target, r))
    }

    /// Sends several requests at once, at most `concurrency` in flight; results keep order.
    pub fn send_all(&self, requests: Vec<Request>, concurrency: u32) -> Vec<Result<Response>> {
        let targets: Vec<Target> = requests.iter().map(Request::target).collect();
        let raw: RVec<HttpRequest> = requests.into_iter().map(Request::into_raw).collect();
        self.host
            .http_batch(raw, concurrency.max(1))
            .into_iter()
            .zip(targets)
            .map(|(r, t)| into_result(r).map(|r| Response::from_raw(t, r)))
            .collect()
    }

    /// Sends a request and reads its body line by line (server-sent events).
    pub fn send_lines(&self, request: Request) -> Result<Lines<'_, 'a>> {
        let target = request.target();
        let raw = into_result(self.host.http_lines_open(request.into_raw()))?;
        let stream = raw.stream;
        Ok(Lines {
            cx: self,
            response: Response::from_raw(target, raw),
            stream,
            done: false,
        })
    }

    /// Shows a table (human mode only; ignored with `--json`).
    pub fn table(&self, table: &Table) -> Result<()> {
        let payload = serde_json::to_string(table)?;
        self.emit(OutputKind::TABLE, &payload)
    }

    /// Shows `key: value` lines (human mode only).
    pub fn record(&self, fields: &[(&str, String)]) -> Result<()> {
        let payload = serde_json::to_string(fields)?;
        self.emit(OutputKind::RECORD, &payload)
    }

    /// Shows a `✓` success line (human mode only).
    pub fn success(&self, message: &str) -> Result<()> {
        self.emit(OutputKind::SUCCESS, message)
    }

    /// Shows a plain line on stdout (human mode only).
    pub fn line(&self, message: &str) -> Result<()> {
        self.emit(OutputKind::LINE, message)
    }

    /// Shows a warning on stderr.
    pub fn warn(&self, message: &str) -> Result<()> {
        self.emit(OutputKind::WARNING, message)
    }

    /// Shows a `hint:` line on stderr.
    pub fn hint(&self, message: &str) -> Result<()> {
        self.emit(OutputKind::HINT, message)
    }

    /// Prints the JSON result (use in `--json` mode, or for commands whose output is JSON).
    pub fn json(&self, value: &Value) -> Result<()> {
        self.emit(OutputKind::JSON, &serde_json::to_string(value)?)
    }

    /// Prints JSON text as received (a server's answer), keeping numbers and key order.
    /// The host checks that it parses and pretty-prints it.
    pub fn json_text(&self, text: &str) -> Result<()> {
        self.emit(OutputKind::JSON, text)
    }

    /// Writes bytes to stdout unchanged.
    pub fn write_stdout(&self, bytes: &[u8]) -> Result<()> {
        into_result(self.host.write_stdout(RSlice::from_slice(bytes)))
    }

    /// Asks a yes/no question. With `--yes` the answer is yes; without a terminal it fails,
    /// telling the user to pass `--yes`.
    pub fn confirm(&self, prompt: &str, default: bool) -> Result<bool> {
        into_result(self.host.confirm(RStr::from_str(prompt), default))
    }

    /// Starts a progress indicator (drawn by the host on a terminal, never with `--json`).
    pub fn progress(&self, label: &str, total: Option<u64>) -> Progress<'_, 'a> {
        let id = self
            .host
            .progress_start(RStr::from_str(label), total.unwrap_or(0));
        Progress {
            cx: self,
            id,
            finished: false,
        }
    }

    /// Whether the user pressed Ctrl-C.
    pub fn interrupted(&self) -> bool {
        self.host.interrupted()
    }

    /// Fails with [`ErrorKind::Interrupted`] when the user pressed Ctrl-C.
    pub fn check_interrupted(&self) -> Result<()> {
        if self.interrupted() {
            Err(Error::new(ErrorKind::Interrupted, "interrupted"))
        } else {
            Ok(())
        }
    }

    fn emit(&self, kind: OutputKind, payload: &str) -> Result<()> {
        into_result(self.host.emit(kind, RStr::from_str(payload)))
    }
}

/// A progress indicator; finished (silently) when dropped.
pub struct Progress<'c, 'a> {
    cx: &'c Context<'a>,
    id: u64,
    finished: bool,
}

impl Progress<'_, '_> {
    /// Advances by `delta`.
    pub fn advance(&self, delta: u64) {
        self.cx.host.progress_advance(self.id, delta);
    }

    /// Finishes, leaving `message` in place of the indicator.
    pub fn finish(mut self, message: &str) {
        self.finished = true;
        self.cx
            .host
            .progress_finish(self.id, RStr::from_str(message));
    }
}

impl Drop for Progress<'_, '_> {
    fn drop(&mut self) {
        if !self.finished {
            self.cx.host.progress_finish(self.id, RStr::from_str(""));
        }
    }
}

/// The lines of a streamed response; closed when dropped.
pub struct Lines<'c, 'a> {
    cx: &'c Context<'a>,
    response: Response,
    stream: u64,
    done: bool,
}

impl Lines<'_, '_> {
    /// The status and headers (the body is read through the iterator).
    pub fn response(&self) -> &Response {
        &self.response
    }
}

impl Iterator for Lines<'_, '_> {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match into_result(self.cx.host.http_lines_next(self.stream)) {
            Ok(ROption::RSome(line)) => Some(Ok(line.into_string())),
            Ok(ROption::RNone) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl Drop for Lines<'_, '_> {
    fn drop(&mut self) {
        if !self.done {
            self.cx.host.http_lines_close(self.stream);
        }
    }
}

fn into_result<T>(r: RResult<T, crate::abi::RawError>) -> Result<T> {
    r.into_result().map_err(Error::from_raw)
}
