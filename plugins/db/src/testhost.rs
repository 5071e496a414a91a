//! A fake host for this crate's tests: it answers requests from a script, records every request
//! and every piece of output, so a command can be run end to end without a server or the real
//! host. Only what the db commands use is implemented.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::PathBuf;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::sabi_types::RRef;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};
use insforge_plugin_api::abi::{
    HostServices, HostServices_TO, HttpRequest, HttpResponse, OutputKind, RawError,
};
use insforge_plugin_api::{Context, Error, HostContext, Invocation, Plugin, Result};
use serde_json::Value;

use crate::Db;

/// One piece of output, by kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    Table(Value),
    Success(String),
    Line(String),
    Warning(String),
    Hint(String),
    Json(String),
    Stdout(Vec<u8>),
}

/// The fake host.
pub(crate) struct FakeHost {
    context: HostContext,
    answers: RefCell<VecDeque<(u16, Vec<u8>)>>,
    pub(crate) requests: RefCell<Vec<HttpRequest>>,
    pub(crate) output: RefCell<Vec<Output>>,
    /// The answer to confirmation prompts (as if the user typed it, or passed --yes).
    pub(crate) confirms: std::cell::Cell<bool>,
}

impl FakeHost {
    /// A host in human (`json == false`) or `--json` mode, run in `cwd`.
    pub(crate) fn new(json: bool, cwd: PathBuf) -> Self {
        FakeHost {
            context: HostContext {
                json,
                cwd,
                ..HostContext::default()
            },
            answers: RefCell::new(VecDeque::new()),
            requests: RefCell::new(Vec::new()),
            output: RefCell::new(Vec::new()),
            confirms: std::cell::Cell::new(true),
        }
    }

    /// Queues the answer to the next request.
    pub(crate) fn answer(self, status: u16, body: &str) -> Self {
        self.answers
            .borrow_mut()
            .push_back((status, body.as_bytes().to_vec()));
        self
    }

    /// Runs `db <command...>` with `args` (a JSON object) through the plugin's entry point.
    pub(crate) fn run(&self, command: &[&str], args: Value) -> Result<()> {
        let invocation = Invocation {
            command: command.iter().map(|c| (*c).to_owned()).collect(),
            args: args.as_object().cloned().unwrap_or_default(),
        };
        let services = HostServices_TO::from_ptr(RRef::new(self), TD_Opaque);
        let mut cx = Context::new(services)?;
        Db::run(&mut cx, &invocation)
    }

    /// The only request sent, as (method, url, body text).
    pub(crate) fn request(&self) -> (String, String, String) {
        let requests = self.requests.borrow();
        assert_eq!(requests.len(), 1, "expected exactly one request");
        let r = &requests[0];
        (
            r.method.to_string(),
            r.url.to_string(),
            String::from_utf8(r.body.to_vec()).unwrap(),
        )
    }

    pub(crate) fn output(&self) -> Vec<Output> {
        self.output.borrow().clone()
    }
}

fn ok<T>(value: T) -> RResult<T, RawError> {
    RResult::ROk(value)
}

impl HostServices for FakeHost {
    fn context(&self) -> RString {
        serde_json::to_string(&self.context).unwrap().into()
    }

    fn http(&self, request: HttpRequest) -> RResult<HttpResponse, RawError> {
        self.requests.borrow_mut().push(request);
        let (status, body) = self
            .answers
            .borrow_mut()
            .pop_front()
            .expect("a scripted answer for every request");
        ok(HttpResponse {
            status,
            headers: RVec::new(),
            body: body.into(),
            bytes_written: 0,
            stream: 0,
        })
    }

    fn http_batch(
        &self,
        requests: RVec<HttpRequest>,
        _concurrency: u32,
    ) -> RVec<RResult<HttpResponse, RawError>> {
        requests.into_iter().map(|r| self.http(r)).collect()
    }

    fn http_lines_open(&self, _request: HttpRequest) -> RResult<HttpResponse, RawError> {
        RResult::RErr(Error::general("not used by db").into_raw())
    }

    fn http_lines_next(&self, _stream: u64) -> RResult<ROption<RString>, RawError> {
        ok(ROption::RNone)
    }

    fn http_lines_close(&self, _stream: u64) {}

    fn emit(&self, kind: OutputKind, payload: RStr<'_>) -> RResult<(), RawError> {
        let text = payload.as_str().to_owned();
        let item = match kind {
            OutputKind::TABLE => Output::Table(serde_json::from_str(&text).unwrap()),
            OutputKind::SUCCESS => Output::Success(text),
            OutputKind::LINE => Output::Line(text),
            OutputKind::WARNING => Output::Warning(text),
            OutputKind::HINT => Output::Hint(text),
            OutputKind::JSON => {
                // The real host refuses text that is not JSON; so does this one.
                serde_json::from_str::<Value>(&text).expect("JSON output must parse");
                Output::Json(text)
            }
            other => panic!("unexpected output kind {other:?}"),
        };
        self.output.borrow_mut().push(item);
        ok(())
    }

    fn write_stdout(&self, bytes: RSlice<'_, u8>) -> RResult<(), RawError> {
        self.output
            .borrow_mut()
            .push(Output::Stdout(bytes.as_slice().to_vec()));
        ok(())
    }

    fn confirm(&self, _prompt: RStr<'_>, _default: bool) -> RResult<bool, RawError> {
        ok(self.confirms.get())
    }

    fn progress_start(&self, _label: RStr<'_>, _total: u64) -> u64 {
        0
    }

    fn progress_advance(&self, _id: u64, _delta: u64) {}

    fn progress_finish(&self, _id: u64, _message: RStr<'_>) {}

    fn interrupted(&self) -> bool {
        false
    }
}
