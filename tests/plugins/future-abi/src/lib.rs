//! A plugin library for tests only, claiming to be built for ABI 2.0.
//!
//! It exports nothing but the plain version symbol that the host reads before anything else,
//! so the host must refuse it by that version alone ("incompatible", naming both versions)
//! without asking abi_stable to check layouts or calling into it. It deliberately does not use
//! `export_plugin!`: that macro would stamp the library with this SDK's own ABI version and
//! add a root module, which is exactly what a future ABI would not be guaranteed to have.

use insforge_plugin_api::abi::AbiVersion;

/// The ABI version this library claims: a major version no host of ABI 1.x accepts.
#[unsafe(export_name = "insforge_plugin_abi_version")]
pub static INSFORGE_PLUGIN_ABI_VERSION: AbiVersion = AbiVersion { major: 2, minor: 0 };
