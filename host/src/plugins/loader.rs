//! Loading one plugin library and checking it before any of its entry points runs.
//!
//! The order matters: first the plain ABI version symbol (so a plugin built for another major is
//! named with both versions), then `abi_stable`'s header and layout checks, and only then the
//! plugin's own functions (`name`, `version`, `describe`).

use std::path::Path;

use abi_stable::library::lib_header_from_path;
use insforge_plugin_api::abi::{AbiVersion, PluginModuleRef, ABI_VERSION, ABI_VERSION_SYMBOL};
use insforge_plugin_api::{Error as PluginError, ErrorKind, PluginSpec};

/// A plugin that passed every check.
pub struct Loaded {
    pub module: PluginModuleRef,
    pub version: String,
    pub abi: AbiVersion,
    pub spec: PluginSpec,
}

/// Why a plugin cannot be used.
#[derive(Debug, Clone)]
pub struct LoadFailure {
    pub incompatible: bool,
    /// One line, for `plugin list` and warnings.
    pub reason: String,
    /// abi_stable's full report, shown with `-v`.
    pub detail: Option<String>,
    /// The ABI the library declared, when it could be read.
    pub abi: Option<AbiVersion>,
}

impl LoadFailure {
    fn broken(reason: String) -> Self {
        LoadFailure {
            incompatible: false,
            reason,
            detail: None,
            abi: None,
        }
    }
}

/// Loads the library at `path` as the plugin `name`.
pub fn load(name: &str, path: &Path) -> Result<Loaded, LoadFailure> {
    let abi = read_abi_version(path)?;
    if !ABI_VERSION.accepts(abi) {
        return Err(LoadFailure {
            incompatible: true,
            reason: format!(
                "plugin `{name}` was built for plugin ABI {abi}; this insforge supports {}",
                supported_range()
            ),
            detail: None,
            abi: Some(abi),
        });
    }

    let module = lib_header_from_path(path)
        .and_then(|header| header.init_root_module::<PluginModuleRef>())
        .map_err(|e| {
            let detail = e.to_string();
            LoadFailure {
                incompatible: true,
                reason: format!(
                    "plugin `{name}` does not match this insforge's plugin ABI {ABI_VERSION} \
                     (layout check failed; run with -v for the report)"
                ),
                detail: Some(detail),
                abi: Some(abi),
            }
        })?;

    let inner_name = (module.name())().into_string();
    if inner_name != name {
        return Err(LoadFailure {
            abi: Some(abi),
            ..LoadFailure::broken(format!(
                "the file is named for plugin `{name}` but the library says it is `{inner_name}`"
            ))
        });
    }
    let version = (module.version())().into_string();
    let spec_json = (module.describe())()
        .into_result()
        .map_err(|raw| {
            let err = PluginError::from_raw(raw);
            let what = if err.kind() == ErrorKind::Crashed {
                "crashed while describing its commands"
            } else {
                "could not describe its commands"
            };
            LoadFailure::broken(format!("plugin `{name}` {what}: {}", err.message()))
        })?
        .into_string();
    let spec: PluginSpec = serde_json::from_str(&spec_json).map_err(|e| {
        LoadFailure::broken(format!(
            "plugin `{name}` sent an invalid command description: {e}"
        ))
    })?;
    if spec.command.name != name {
        return Err(LoadFailure::broken(format!(
            "plugin `{name}` describes a top-level command named `{}`",
            spec.command.name
        )));
    }
    Ok(Loaded {
        module,
        version,
        abi,
        spec,
    })
}

/// "ABI 1.0", or "ABI 1.0 to 1.3" once minors accumulate.
fn supported_range() -> String {
    if ABI_VERSION.minor == 0 {
        format!("ABI {ABI_VERSION}")
    } else {
        format!("ABI {}.0 to {ABI_VERSION}", ABI_VERSION.major)
    }
}

fn read_abi_version(path: &Path) -> Result<AbiVersion, LoadFailure> {
    // SAFETY: loading a library runs its initialisers. That is the price of any plugin system;
    // the user chose to put this library on the plugin path.
    let library = unsafe { libloading::Library::new(path) }
        .map_err(|e| LoadFailure::broken(format!("cannot load {}: {e}", path.display())))?;
    let symbol = format!("{ABI_VERSION_SYMBOL}\0");
    // SAFETY: the symbol is a `static AbiVersion` (two u16) in every insforge plugin; a library
    // without it is rejected before anything else is read.
    let version = unsafe {
        library
            .get::<*const AbiVersion>(symbol.as_bytes())
            .map(|s| **s)
    }
    .map_err(|_| {
        LoadFailure::broken(format!(
            "{} is not an insforge plugin (it exports no plugin ABI version)",
            path.display()
        ))
    })?;
    // Keep the library mapped for the life of the process: abi_stable hands out 'static
    // references into it, and unloading Rust libraries is unsound anyway.
    std::mem::forget(library);
    Ok(version)
}
