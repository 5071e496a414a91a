//! The binary interface between the `insforge` host and a plugin library.
//!
//! Everything in this module crosses the library boundary, so every type is `#[repr(C)]` and
//! derives [`StableAbi`]: `abi_stable` checks, when the host loads a plugin, that both sides agree
//! on the layout of every type reachable from [`PluginModule`]. Plugin authors never touch these
//! types; the SDK in the crate root wraps them. They are public so that the host (and only the
//! host) can implement [`HostServices`].
//!
//! Rules that keep ABI 1.x evolvable without a layout break:
//! - "Enums" are `u8` newtypes with associated constants, so a newer plugin's new value reaches an
//!   older host as an unknown number (handled) instead of failing the layout check.
//! - Structured data that is likely to grow (command descriptions, invocations, context, tables)
//!   travels as JSON text; unknown fields are ignored by both sides.
//! - [`PluginModule`] is a prefix type and [`HostServices`] a `sabi_trait` with a marked last
//!   prefix method, so later minor versions may append fields and methods.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_trait,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RSlice, RStr, RString, RVec, Tuple2},
    StableAbi,
};

/// The ABI version implemented by this crate: `major.minor`.
///
/// A host accepts a plugin whose major equals its own and whose minor is not newer than its own.
pub const ABI_VERSION: AbiVersion = AbiVersion { major: 1, minor: 0 };

/// Name of the plain symbol every plugin exports with its [`AbiVersion`].
///
/// The host reads it with a plain symbol lookup *before* it asks `abi_stable` to check layouts, so a
/// plugin built for another major version is reported by version rather than by a layout diff.
pub const ABI_VERSION_SYMBOL: &str = "insforge_plugin_abi_version";

/// A `major.minor` ABI version, independent of crate and product versions.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AbiVersion {
    /// Bumped on any change that breaks an existing plugin or host.
    pub major: u16,
    /// Bumped when fields or host services are appended.
    pub minor: u16,
}

impl AbiVersion {
    /// Whether a host speaking `self` can run a plugin built for `plugin`.
    pub fn accepts(self, plugin: AbiVersion) -> bool {
        self.major == plugin.major && plugin.minor <= self.minor
    }
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The root module every plugin exports (through [`export_plugin!`](crate::export_plugin)).
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// The ABI this plugin was built for (the same value as the plain version symbol).
    pub abi: AbiVersion,
    /// The plugin's name: the top-level command it owns. Must match its file name.
    pub name: extern "C" fn() -> RString,
    /// The plugin's own version (semver).
    pub version: extern "C" fn() -> RString,
    /// The command description as JSON (see [`crate::PluginSpec`]).
    pub describe: extern "C" fn() -> RResult<RString, RawError>,
    /// Runs one command. `invocation` is JSON (see [`crate::Invocation`]).
    #[sabi(last_prefix_field)]
    pub run: for<'a> extern "C" fn(HostServicesRef<'a>, RStr<'a>) -> RResult<(), RawError>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "insforge_plugin";
    const NAME: &'static str = "insforge_plugin";
    // Compatibility is decided by [`ABI_VERSION`], checked before this; abi_stable's own check
    // would require the plugin to be *newer* than the host, the opposite of our rule.
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

/// The host services handed to a running plugin, borrowed for the duration of the call.
pub type HostServicesRef<'a> = HostServices_TO<'a, abi_stable::sabi_types::RRef<'a, ()>>;

/// Services the host provides to plugins. Implemented by the host only.
///
/// Every method is synchronous: the host drives its async runtime and blocks the plugin's thread.
#[sabi_trait]
pub trait HostServices {
    /// Read-only context as JSON (see [`crate::HostContext`]).
    fn context(&self) -> RString;

    /// Sends one HTTP request. Non-2xx statuses are responses, not errors.
    fn http(&self, request: HttpRequest) -> RResult<HttpResponse, RawError>;

    /// Sends several requests at once, at most `concurrency` in flight; results keep input order.
    fn http_batch(
        &self,
        requests: RVec<HttpRequest>,
        concurrency: u32,
    ) -> RVec<RResult<HttpResponse, RawError>>;

    /// Sends a request whose body is then read line by line (server-sent events). The response
    /// carries the status and headers; its body is empty and `stream` names the open stream.
    fn http_lines_open(&self, request: HttpRequest) -> RResult<HttpResponse, RawError>;

    /// The next line of an open stream, without its line ending; `None` at the end.
    fn http_lines_next(&self, stream: u64) -> RResult<ROption<RString>, RawError>;

    /// Closes an open stream early.
    fn http_lines_close(&self, stream: u64);

    /// Writes one piece of output; see [`OutputKind`] for what `payload` holds.
    fn emit(&self, kind: OutputKind, payload: RStr<'_>) -> RResult<(), RawError>;

    /// Writes bytes to stdout unchanged.
    fn write_stdout(&self, bytes: RSlice<'_, u8>) -> RResult<(), RawError>;

    /// Asks a yes/no question. Honours `--yes`; fails with a usage error when there is no
    /// terminal to ask on.
    fn confirm(&self, prompt: RStr<'_>, default: bool) -> RResult<bool, RawError>;

    /// Starts a progress indicator; `total` 0 means unknown. Returns its id.
    fn progress_start(&self, label: RStr<'_>, total: u64) -> u64;

    /// Advances a progress indicator by `delta`.
    fn progress_advance(&self, id: u64, delta: u64);

    /// Ends a progress indicator, leaving `message` (if not empty) in its place.
    fn progress_finish(&self, id: u64, message: RStr<'_>);

    /// Whether the user pressed Ctrl-C; long loops check this and stop cleanly.
    #[sabi(last_prefix_field)]
    fn interrupted(&self) -> bool;
}

/// Which server a request goes to.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target(pub u8);

impl Target {
    /// The linked project's backend; the host adds the project API key.
    pub const BACKEND: Target = Target(0);
    /// The cloud platform; the host adds the user's token.
    pub const PLATFORM: Target = Target(1);
    /// An absolute URL, sent without any of our credentials (pre-signed URLs).
    pub const ABSOLUTE: Target = Target(2);
}

/// The kind of a request body.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyKind(pub u8);

impl BodyKind {
    /// No body.
    pub const NONE: BodyKind = BodyKind(0);
    /// `bytes`, with the content type from the headers (default `application/octet-stream`).
    pub const BYTES: BodyKind = BodyKind(1);
    /// `bytes` holds JSON text; sent as `application/json`.
    pub const JSON: BodyKind = BodyKind(2);
    /// The file at `path`, streamed from disk.
    pub const FILE: BodyKind = BodyKind(3);
    /// `multipart/form-data` built from `parts`.
    pub const MULTIPART: BodyKind = BodyKind(4);
}

/// Where a response body goes.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseMode(pub u8);

impl ResponseMode {
    /// Collected in memory into [`HttpResponse::body`].
    pub const MEMORY: ResponseMode = ResponseMode(0);
    /// Streamed into the file at [`HttpRequest::response_path`], written atomically; only for
    /// 2xx answers (an error answer is kept in memory so it can be reported).
    pub const FILE: ResponseMode = ResponseMode(1);
}

/// One part of a multipart body.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct MultipartPart {
    /// Form field name.
    pub name: RString,
    /// File name sent in the part's `Content-Disposition`, if any.
    pub filename: ROption<RString>,
    /// Content type of the part, if any.
    pub content_type: ROption<RString>,
    /// Inline value (ignored when `path` is set).
    pub bytes: RVec<u8>,
    /// A file to stream from disk as the part's value.
    pub path: ROption<RString>,
}

/// A request for the host to send.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct HttpRequest {
    /// Which server, see [`Target`].
    pub target: Target,
    /// HTTP method, upper case.
    pub method: RString,
    /// Path and query (for [`Target::BACKEND`] and [`Target::PLATFORM`]) or an absolute URL.
    pub url: RString,
    /// Extra headers. Authorization is added by the host and cannot be overridden.
    pub headers: RVec<Tuple2<RString, RString>>,
    /// The kind of body, see [`BodyKind`].
    pub body_kind: BodyKind,
    /// Body bytes for [`BodyKind::BYTES`] and [`BodyKind::JSON`].
    pub body: RVec<u8>,
    /// File path for [`BodyKind::FILE`].
    pub body_path: RString,
    /// Parts for [`BodyKind::MULTIPART`].
    pub parts: RVec<MultipartPart>,
    /// Where the response body goes, see [`ResponseMode`].
    pub response_mode: ResponseMode,
    /// Destination file for [`ResponseMode::FILE`].
    pub response_path: RString,
    /// Per-request timeout in milliseconds; 0 keeps the host's default.
    pub timeout_ms: u64,
}

/// A response from the host.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers, names in lower case.
    pub headers: RVec<Tuple2<RString, RString>>,
    /// The body, when kept in memory.
    pub body: RVec<u8>,
    /// Bytes written to [`HttpRequest::response_path`] in [`ResponseMode::FILE`].
    pub bytes_written: u64,
    /// The stream handle for [`HostServices::http_lines_open`]; 0 otherwise.
    pub stream: u64,
}

/// What a piece of output is.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputKind(pub u8);

impl OutputKind {
    /// JSON `{"columns":[..],"rows":[[..]]}`; cells are JSON values. Human mode only.
    pub const TABLE: OutputKind = OutputKind(0);
    /// JSON `[[key, value], ..]` shown as aligned `key: value` lines. Human mode only.
    pub const RECORD: OutputKind = OutputKind(1);
    /// A success line (`✓ ...`) on stdout. Human mode only.
    pub const SUCCESS: OutputKind = OutputKind(2);
    /// A plain line on stdout. Human mode only.
    pub const LINE: OutputKind = OutputKind(3);
    /// A warning on stderr (both modes).
    pub const WARNING: OutputKind = OutputKind(4);
    /// A `hint:` line on stderr (both modes).
    pub const HINT: OutputKind = OutputKind(5);
    /// A JSON document: the result in `--json` mode. Printed pretty, numbers and key order kept.
    pub const JSON: OutputKind = OutputKind(6);
}

/// An error as it crosses the boundary. The SDK's [`crate::Error`] converts to and from it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct RawError {
    /// See [`crate::ErrorKind`]; unknown values are treated as general errors.
    pub kind: u8,
    /// One-line message (may contain newlines for server-provided detail).
    pub message: RString,
    /// What to do next, if known.
    pub hint: ROption<RString>,
    /// A machine-readable code for the JSON error line, if any.
    pub code: ROption<RString>,
    /// For HTTP errors: the status (0 otherwise).
    pub status: u16,
    /// For HTTP errors: the response body, so the host can build a uniform message.
    pub body: RVec<u8>,
    /// For HTTP errors: which server answered (see [`Target`]).
    pub target: Target,
}
