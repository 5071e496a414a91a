//! The glue [`export_plugin!`](crate::export_plugin) expands to: entry points that never unwind.
//!
//! A panic that reaches an `extern "C"` boundary aborts the whole process with no cleanup, so
//! every entry point runs the plugin's code under `catch_unwind` and turns a panic into a
//! [`ErrorKind::Crashed`] error carrying the panic's message and location. The plugin's default
//! panic hook would print to stderr, which belongs to the host, so it is replaced by one that
//! only records the message for the error.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use abi_stable::{
    prefix_type::PrefixTypeTrait,
    std_types::{RResult, RStr, RString},
};

use crate::abi::{HostServicesRef, PluginModule, PluginModuleRef, RawError, ABI_VERSION};
use crate::context::{Context, Invocation};
use crate::error::{Error, ErrorKind};
use crate::Plugin;

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            let message = match info.location() {
                Some(loc) => format!("{message} (at {}:{})", loc.file(), loc.line()),
                None => message,
            };
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
        }));
    });
}

/// Runs `f`, converting a panic into a `Crashed` error.
fn guarded<T>(f: impl FnOnce() -> Result<T, Error>) -> RResult<T, RawError> {
    install_panic_hook();
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(err)) => RResult::RErr(err.into_raw()),
        Err(_) => {
            let message = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "unknown panic".to_owned());
            RResult::RErr(Error::new(ErrorKind::Crashed, message).into_raw())
        }
    }
}

extern "C" fn name<P: Plugin>() -> RString {
    // Only reads constants; cannot panic.
    RString::from(P::NAME)
}

extern "C" fn version<P: Plugin>() -> RString {
    RString::from(P::VERSION)
}

extern "C" fn describe<P: Plugin>() -> RResult<RString, RawError> {
    guarded(|| {
        let spec = P::describe();
        if spec.name != P::NAME {
            return Err(Error::new(
                ErrorKind::Plugin,
                format!(
                    "plugin `{}` describes a command named `{}`",
                    P::NAME,
                    spec.name
                ),
            ));
        }
        Ok(RString::from(serde_json::to_string(&spec)?))
    })
}

extern "C" fn run<P: Plugin>(
    host: HostServicesRef<'_>,
    invocation: RStr<'_>,
) -> RResult<(), RawError> {
    guarded(|| {
        let invocation: Invocation = serde_json::from_str(invocation.as_str())
            .map_err(|e| Error::new(ErrorKind::Plugin, format!("bad invocation: {e}")))?;
        let mut cx = Context::new(host)?;
        P::run(&mut cx, &invocation)
    })
}

/// Builds the root module for `P`. Used by [`export_plugin!`](crate::export_plugin).
pub fn root_module<P: Plugin>() -> PluginModuleRef {
    PluginModule {
        abi: ABI_VERSION,
        name: name::<P>,
        version: version::<P>,
        describe: describe::<P>,
        run: run::<P>,
    }
    .leak_into_prefix()
}

/// Exports a [`Plugin`](crate::Plugin) implementation as the library's root module.
///
/// Use it once, at the crate root of a `cdylib` crate:
///
/// ```ignore
/// insforge_plugin_api::export_plugin!(MyPlugin);
/// ```
///
/// It exports two symbols: the plain ABI version the host reads first, and the `abi_stable`
/// library header through which the host checks layouts and reaches the entry points.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        #[unsafe(export_name = "insforge_plugin_abi_version")]
        pub static INSFORGE_PLUGIN_ABI_VERSION: $crate::abi::AbiVersion = $crate::abi::ABI_VERSION;

        #[doc(hidden)]
        #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
        pub static INSFORGE_PLUGIN_LIB_HEADER: $crate::__private::LibHeader = {
            extern "C" fn erased_root_module() -> $crate::__private::RootModuleResult {
                $crate::__private::__call_root_module_loader(
                    $crate::__private::root_module::<$plugin>,
                )
            }
            // SAFETY: the constructor returns the root module type named here, as
            // `abi_stable`'s own export attribute arranges.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::abi::PluginModuleRef>(
                    erased_root_module,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
}
