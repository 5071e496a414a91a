//! The plugin API of `insforge`: a stable ABI between the host binary and feature plugins, and the
//! SDK plugin authors write against.
//!
//! # Writing a plugin
//!
//! A plugin is a `cdylib` crate whose library file is named `libinsforge_plugin_<name>.so`
//! (`.dylib` on macOS, `insforge_plugin_<name>.dll` on Windows); `<name>` is the top-level
//! command it owns. It depends on this crate only:
//!
//! ```toml
//! [lib]
//! name = "insforge_plugin_hello"
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! insforge-plugin-api = { path = "../insforge/plugin-api" }
//! serde_json = "1"
//! ```
//!
//! and implements [`Plugin`]:
//!
//! ```
//! use insforge_plugin_api::prelude::*;
//!
//! pub struct Hello;
//!
//! impl Plugin for Hello {
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!
//!     fn describe() -> PluginSpec {
//!         PluginSpec::new(
//!             Self::VERSION,
//!             CommandSpec::new("hello", "Greets the linked project").subcommand(
//!                 CommandSpec::new("tables", "Counts the project's tables")
//!                     .needs(Needs::Project)
//!                     .arg(ArgSpec::switch("verbose-names", "Print every name")),
//!             ),
//!         )
//!     }
//!
//!     fn run(cx: &mut Context<'_>, inv: &Invocation) -> Result<()> {
//!         match inv.command_path().as_str() {
//!             "tables" => {
//!                 let response = cx
//!                     .send(Request::backend("GET", "/api/database/tables"))?
//!                     .error_for_status()?;
//!                 let tables = response.json()?;
//!                 if cx.json_mode() {
//!                     return cx.json(&tables);
//!                 }
//!                 let count = tables.as_array().map_or(0, Vec::len);
//!                 cx.success(&format!("{count} tables"))
//!             }
//!             other => Err(Error::usage(format!("unknown command `{other}`"))),
//!         }
//!     }
//! }
//!
//! insforge_plugin_api::export_plugin!(Hello);
//! ```
//!
//! # What the host does for you
//!
//! - Parses and checks the arguments you declared ([`ArgSpec`]) before your code runs: required
//!   values, allowed values, integers, JSON that must parse, files that must exist. It also
//!   checks what the command [`Needs`] (a linked project, a login).
//! - Sends every HTTP request ([`Context::send`]), adding the project's API key or the user's
//!   token, timeouts, proxies and TLS; logs them with `-v`, secrets redacted.
//! - Owns stdout and stderr: you hand it tables, messages and JSON ([`Context::table`],
//!   [`Context::success`], [`Context::json`]); it renders them for a terminal or a pipe, and
//!   keeps `--json` output to exactly one document.
//! - Maps your [`Error`]'s [`ErrorKind`] to the exit code, and words HTTP failures
//!   ([`Response::error_for_status`]) the same way for every plugin.
//! - Prompts ([`Context::confirm`]), progress ([`Context::progress`]) and Ctrl-C
//!   ([`Context::interrupted`]).
//!
//! Your code is synchronous; the host blocks on its async runtime for you. A panic in your code is
//! caught at the boundary and reported as `plugin <name> crashed` (exit 6); it never aborts the
//! host.
//!
//! # Compatibility
//!
//! The ABI has a version of its own, [`abi::ABI_VERSION`] (`major.minor`), independent of this
//! crate's version. A host runs plugins of its major version whose minor is not newer than its
//! own, and skips others with a one-line reason. See [`abi`] for how the types stay evolvable.

#![warn(missing_docs)]
// abi_stable's derive and sabi_trait macros generate code these lints object to.
#![allow(
    non_camel_case_types,
    non_local_definitions,
    clippy::missing_safety_doc
)]

pub mod abi;
mod context;
mod encode;
mod error;
#[doc(hidden)]
pub mod export;
mod spec;

pub use context::{
    Context, HostContext, Invocation, Lines, Multipart, Progress, ProjectInfo, Request, Response,
    Table,
};
pub use encode::encode_component;
pub use error::{Error, ErrorKind, HttpFailure, Result};
pub use spec::{ArgKind, ArgSpec, CommandSpec, Example, Needs, PluginSpec, ValueType};

/// What a plugin implements. See the [crate documentation](crate) for a complete example.
pub trait Plugin: 'static {
    /// The plugin's name: its top-level command, and the `<name>` in its file name.
    const NAME: &'static str;
    /// The plugin's version (semver), usually `env!("CARGO_PKG_VERSION")`.
    const VERSION: &'static str;

    /// Describes the plugin's commands. Called by the host when it needs help text or a parser;
    /// must be cheap and must not do I/O.
    fn describe() -> PluginSpec;

    /// Runs the command in `invocation`, whose arguments the host has already checked.
    fn run(cx: &mut Context<'_>, invocation: &Invocation) -> Result<()>;
}

/// Everything a plugin usually needs, in one import.
pub mod prelude {
    pub use crate::{
        ArgSpec, CommandSpec, Context, Error, ErrorKind, Invocation, Multipart, Needs, Plugin,
        PluginSpec, Request, Response, Result, Table, ValueType,
    };
    pub use serde_json::{json, Value};
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::root_module;
    pub use abi_stable::library::{
        __call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult,
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_macro_uses_abi_stables_root_module_symbol() {
        // export_plugin! spells the symbol out because attribute values cannot be computed.
        assert_eq!(
            abi_stable::library::ROOT_MODULE_LOADER_NAME,
            "_1as_0lib_1header_0root_bmodule_bloader"
        );
    }

    #[test]
    fn host_accepts_older_minor_of_same_major_only() {
        use crate::abi::AbiVersion;
        let host = AbiVersion { major: 1, minor: 2 };
        assert!(host.accepts(AbiVersion { major: 1, minor: 0 }));
        assert!(host.accepts(AbiVersion { major: 1, minor: 2 }));
        assert!(!host.accepts(AbiVersion { major: 1, minor: 3 }));
        assert!(!host.accepts(AbiVersion { major: 2, minor: 0 }));
    }
}
