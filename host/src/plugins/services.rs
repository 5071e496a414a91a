//! The host services a running plugin calls: HTTP, output, prompts, progress, context.
//!
//! Plugin code is synchronous. Each service call blocks the plugin's thread on the host's tokio
//! runtime, so no async type ever crosses the boundary.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};

use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec, Tuple2};
use futures_util::StreamExt;
use insforge_plugin_api::abi::{HostServices, HttpRequest, HttpResponse, OutputKind, RawError};
use insforge_plugin_api::{Error as PluginError, ErrorKind};
use serde_json::Value;

use crate::api::{Answer, Client};
use crate::error::{CliError, Kind};
use crate::output::Output;

/// Everything a plugin may reach during one run.
pub struct Services<'a> {
    pub runtime: &'a tokio::runtime::Runtime,
    pub client: &'a Client,
    pub output: &'a Output,
    /// The `HostContext` JSON handed to the plugin.
    pub context_json: String,
    pub yes: bool,
    streams: RefCell<HashMap<u64, LineStream>>,
    progress: RefCell<HashMap<u64, indicatif::ProgressBar>>,
    next_id: RefCell<u64>,
}

struct LineStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    finished: bool,
}

impl<'a> Services<'a> {
    pub fn new(
        runtime: &'a tokio::runtime::Runtime,
        client: &'a Client,
        output: &'a Output,
        context_json: String,
        yes: bool,
    ) -> Self {
        Services {
            runtime,
            client,
            output,
            context_json,
            yes,
            streams: RefCell::new(HashMap::new()),
            progress: RefCell::new(HashMap::new()),
            next_id: RefCell::new(1),
        }
    }

    fn id(&self) -> u64 {
        let mut next = self.next_id.borrow_mut();
        let id = *next;
        *next += 1;
        id
    }

    fn emit_inner(&self, kind: OutputKind, payload: &str) -> Result<(), CliError> {
        match kind {
            OutputKind::TABLE => {
                let table: TablePayload = serde_json::from_str(payload)
                    .map_err(|e| CliError::plugin(format!("plugin sent a bad table: {e}")))?;
                self.output.table(&table.columns, &table.rows)
            }
            OutputKind::RECORD => {
                let fields: Vec<(String, String)> = serde_json::from_str(payload)
                    .map_err(|e| CliError::plugin(format!("plugin sent a bad record: {e}")))?;
                self.output.record(&fields)
            }
            OutputKind::SUCCESS => self.output.success(payload),
            OutputKind::LINE => self.output.line(payload),
            OutputKind::WARNING => {
                self.output.warning(payload);
                Ok(())
            }
            OutputKind::HINT => {
                self.output.hint(payload);
                Ok(())
            }
            OutputKind::JSON => self.output.json_text(payload),
            // A newer plugin's kind of output: shown as a plain line rather than lost.
            _ => self.output.line(payload),
        }
    }

    fn confirm_inner(&self, prompt: &str, default: bool) -> Result<bool, CliError> {
        if self.yes {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(CliError::usage(format!(
                "this needs confirmation, and there is no terminal to ask on: {prompt}"
            ))
            .with_hint("pass --yes to confirm"));
        }
        let choices = if default { "[Y/n]" } else { "[y/N]" };
        loop {
            self.output.stderr_text(&format!("{prompt} {choices} "));
            let mut answer = String::new();
            let read = std::io::stdin().lock().read_line(&mut answer)?;
            if read == 0 {
                return Ok(false);
            }
            match answer.trim().to_ascii_lowercase().as_str() {
                "" => return Ok(default),
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => self.output.stderr_text("please answer y or n\n"),
            }
        }
    }

    fn next_line(&self, stream: u64) -> Result<Option<String>, CliError> {
        let mut streams = self.streams.borrow_mut();
        let s = streams
            .get_mut(&stream)
            .ok_or_else(|| CliError::plugin(format!("unknown stream {stream}")))?;
        loop {
            if let Some(pos) = s.buffer.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = s.buffer.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            if s.finished {
                if s.buffer.is_empty() {
                    return Ok(None);
                }
                let rest = std::mem::take(&mut s.buffer);
                return Ok(Some(String::from_utf8_lossy(&rest).into_owned()));
            }
            let url = s.response.url().to_string();
            let chunk = self.runtime.block_on(async {
                tokio::select! {
                    c = s.response.chunk() => Ok(c),
                    () = self.client.interrupt().wait() => Err(CliError::interrupted()),
                }
            })?;
            match chunk.map_err(|e| crate::api::errors::transport_error(&e, &url))? {
                Some(bytes) => s.buffer.extend_from_slice(&bytes),
                None => s.finished = true,
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct TablePayload {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

/// Converts a host error for the plugin. The plugin usually returns it unchanged, and the host
/// turns it back with [`from_plugin_error`].
fn to_raw(err: CliError) -> RawError {
    let kind = match err.kind {
        Kind::General | Kind::Http => ErrorKind::General,
        Kind::Usage => ErrorKind::Usage,
        Kind::NotAuthenticated => ErrorKind::NotAuthenticated,
        Kind::NotLinked => ErrorKind::NotLinked,
        Kind::NotFound => ErrorKind::NotFound,
        Kind::PermissionDenied => ErrorKind::PermissionDenied,
        Kind::Network => ErrorKind::Network,
        Kind::Plugin => ErrorKind::Plugin,
        Kind::Interrupted => ErrorKind::Interrupted,
    };
    let mut e = PluginError::new(kind, err.message);
    if !err.hints.is_empty() {
        e = e.with_hint(err.hints.join("\n"));
    }
    if let Some(code) = err.code {
        e = e.with_code(code);
    }
    e.into_raw()
}

/// The host's view of an error a plugin returned.
pub fn from_plugin_error(plugin: &str, err: PluginError) -> CliError {
    if let Some(http) = err.http_failure() {
        return crate::api::errors::http_error(http.target, http.status, &http.body);
    }
    let kind = match err.kind() {
        ErrorKind::Usage => Kind::Usage,
        ErrorKind::NotAuthenticated => Kind::NotAuthenticated,
        ErrorKind::NotLinked => Kind::NotLinked,
        ErrorKind::NotFound => Kind::NotFound,
        ErrorKind::PermissionDenied => Kind::PermissionDenied,
        ErrorKind::Network => Kind::Network,
        ErrorKind::Interrupted => Kind::Interrupted,
        ErrorKind::Plugin | ErrorKind::Crashed => Kind::Plugin,
        _ => Kind::General,
    };
    let message = if err.kind() == ErrorKind::Crashed {
        format!("plugin {plugin} crashed: {}", err.message())
    } else {
        err.message().to_owned()
    };
    let mut out = CliError::new(kind, message);
    if let Some(hint) = err.hint() {
        for line in hint.lines() {
            out = out.with_hint(line);
        }
    }
    if let Some(code) = err.code() {
        out = out.with_code(code);
    }
    out
}

fn abi_headers(headers: Vec<(String, String)>) -> RVec<Tuple2<RString, RString>> {
    headers
        .into_iter()
        .map(|(k, v)| Tuple2(RString::from(k), RString::from(v)))
        .collect()
}

fn to_response(answer: Answer) -> HttpResponse {
    HttpResponse {
        status: answer.status,
        headers: abi_headers(answer.headers),
        body: answer.body.into(),
        bytes_written: answer.bytes_written,
        stream: 0,
    }
}

fn result<T>(r: Result<T, CliError>) -> RResult<T, RawError> {
    r.map_err(to_raw).into()
}

impl HostServices for Services<'_> {
    fn context(&self) -> RString {
        RString::from(self.context_json.as_str())
    }

    fn http(&self, request: HttpRequest) -> RResult<HttpResponse, RawError> {
        result(
            self.runtime
                .block_on(self.client.send(&request))
                .map(to_response),
        )
    }

    fn http_batch(
        &self,
        requests: RVec<HttpRequest>,
        concurrency: u32,
    ) -> RVec<RResult<HttpResponse, RawError>> {
        let limit = usize::try_from(concurrency.clamp(1, 64)).unwrap_or(1);
        let answers: Vec<Result<Answer, CliError>> = self.runtime.block_on(
            futures_util::stream::iter(requests.iter().map(|r| self.client.send(r)))
                .buffered(limit)
                .collect(),
        );
        answers
            .into_iter()
            .map(|a| result(a.map(to_response)))
            .collect()
    }

    fn http_lines_open(&self, request: HttpRequest) -> RResult<HttpResponse, RawError> {
        let opened = self.runtime.block_on(self.client.open_stream(&request));
        result(opened.map(|response| {
            let id = self.id();
            let status = response.status().as_u16();
            let headers = abi_headers(crate::api::response_headers(&response));
            self.streams.borrow_mut().insert(
                id,
                LineStream {
                    response,
                    buffer: Vec::new(),
                    finished: false,
                },
            );
            HttpResponse {
                status,
                headers,
                body: RVec::new(),
                bytes_written: 0,
                stream: id,
            }
        }))
    }

    fn http_lines_next(&self, stream: u64) -> RResult<ROption<RString>, RawError> {
        result(
            self.next_line(stream)
                .map(|line| line.map(RString::from).into()),
        )
    }

    fn http_lines_close(&self, stream: u64) {
        self.streams.borrow_mut().remove(&stream);
    }

    fn emit(&self, kind: OutputKind, payload: RStr<'_>) -> RResult<(), RawError> {
        result(self.emit_inner(kind, payload.as_str()))
    }

    fn write_stdout(&self, bytes: RSlice<'_, u8>) -> RResult<(), RawError> {
        result(self.output.stdout_bytes(bytes.as_slice()))
    }

    fn confirm(&self, prompt: RStr<'_>, default: bool) -> RResult<bool, RawError> {
        result(self.confirm_inner(prompt.as_str(), default))
    }

    fn progress_start(&self, label: RStr<'_>, total: u64) -> u64 {
        let id = self.id();
        let bar = if self.output.animations() {
            let bar = if total > 0 {
                indicatif::ProgressBar::new(total)
            } else {
                indicatif::ProgressBar::new_spinner()
            };
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_message(label.to_string());
            bar
        } else {
            indicatif::ProgressBar::hidden()
        };
        self.progress.borrow_mut().insert(id, bar);
        id
    }

    fn progress_advance(&self, id: u64, delta: u64) {
        if let Some(bar) = self.progress.borrow().get(&id) {
            bar.inc(delta);
        }
    }

    fn progress_finish(&self, id: u64, message: RStr<'_>) {
        if let Some(bar) = self.progress.borrow_mut().remove(&id) {
            bar.finish_and_clear();
            if !message.is_empty() && !self.output.json_mode() {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "{message}");
            }
        }
    }

    fn interrupted(&self) -> bool {
        self.client.interrupt().is_set()
    }
}
