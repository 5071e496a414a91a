//! Plugins: finding them, loading the one a command needs, and running it.

pub mod discovery;
pub mod loader;
pub mod services;

use std::collections::BTreeMap;
use std::path::Path;

use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::RStr;
use insforge_plugin_api::abi::HostServices_TO;
use insforge_plugin_api::{CommandSpec, Error as PluginError, Invocation};
use serde::Serialize;

use crate::error::{CliError, Result};
use discovery::{Candidate, Source, CORE_COMMANDS};
use loader::{LoadFailure, Loaded};

/// The plugins available to this run: one per name, plus the shadowed ones.
pub struct Registry {
    chosen: BTreeMap<String, Candidate>,
    shadowed: Vec<Candidate>,
}

/// One line of `insforge plugin list`.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub name: String,
    pub version: Option<String>,
    pub abi: Option<String>,
    pub path: String,
    pub source: Source,
    pub status: &'static str,
    pub reason: Option<String>,
}

impl Registry {
    pub fn discover(project_root: Option<&Path>) -> Self {
        let (chosen, shadowed) = discovery::resolve(discovery::discover(project_root));
        Registry { chosen, shadowed }
    }

    /// Whether a plugin owns the top-level command `name`.
    pub fn has(&self, name: &str) -> bool {
        self.chosen.contains_key(name) && !CORE_COMMANDS.contains(&name)
    }

    /// The names of the plugins found (core command names excluded).
    pub fn names(&self) -> Vec<String> {
        self.chosen
            .keys()
            .filter(|name| !CORE_COMMANDS.contains(&name.as_str()))
            .cloned()
            .collect()
    }

    /// Loads the plugin `name`; failures exit 6 with the one-line reason.
    pub fn load(&self, name: &str) -> Result<Loaded> {
        let candidate = self
            .chosen
            .get(name)
            .ok_or_else(|| CliError::plugin(format!("no plugin provides `{name}`")))?;
        loader::load(name, &candidate.path).map_err(|f| failure_error(&f))
    }

    /// The command descriptions of every usable plugin, for the full help. Plugins that fail to
    /// load are left out here; `insforge plugin list` says why.
    pub fn all_specs(&self) -> Vec<CommandSpec> {
        self.chosen
            .iter()
            .filter(|(name, _)| !CORE_COMMANDS.contains(&name.as_str()))
            .filter_map(|(name, c)| loader::load(name, &c.path).ok())
            .map(|l| l.spec.command)
            .collect()
    }

    /// Every plugin found, with its status, for `insforge plugin list`.
    pub fn entries(&self) -> Vec<Entry> {
        let mut entries = Vec::new();
        for (name, c) in &self.chosen {
            let entry = if CORE_COMMANDS.contains(&name.as_str()) {
                entry(
                    c,
                    None,
                    None,
                    "broken",
                    Some(format!(
                        "`{name}` is a core command and cannot be replaced by a plugin"
                    )),
                )
            } else {
                match loader::load(name, &c.path) {
                    Ok(l) => entry(c, Some(l.version), Some(l.abi.to_string()), "ok", None),
                    Err(f) => {
                        if let Some(detail) = &f.detail {
                            tracing::debug!("{}: {detail}", c.path.display());
                        }
                        let status = if f.incompatible {
                            "incompatible"
                        } else {
                            "broken"
                        };
                        entry(
                            c,
                            None,
                            f.abi.map(|a| a.to_string()),
                            status,
                            Some(f.reason),
                        )
                    }
                }
            };
            entries.push(entry);
        }
        for c in &self.shadowed {
            let used = &self.chosen[&c.name];
            entries.push(entry(
                c,
                None,
                None,
                "shadowed",
                Some(format!(
                    "`{}` is provided by {}",
                    c.name,
                    used.path.display()
                )),
            ));
        }
        entries
    }
}

fn entry(
    c: &Candidate,
    version: Option<String>,
    abi: Option<String>,
    status: &'static str,
    reason: Option<String>,
) -> Entry {
    Entry {
        name: c.name.clone(),
        version,
        abi,
        path: c.path.display().to_string(),
        source: c.source,
        status,
        reason,
    }
}

fn failure_error(f: &LoadFailure) -> CliError {
    if let Some(detail) = &f.detail {
        tracing::debug!("{detail}");
    }
    let err = CliError::plugin(f.reason.clone());
    if f.incompatible {
        err.with_hint("install a build of the plugin for this insforge (`insforge plugin list` shows every plugin's status)")
    } else {
        err.with_hint("`insforge plugin list` shows every plugin's status")
    }
}

/// Runs a loaded plugin's command with the host's services.
pub fn run(
    name: &str,
    plugin: &Loaded,
    invocation: &Invocation,
    services: &services::Services<'_>,
) -> Result<()> {
    let json = serde_json::to_string(invocation).map_err(|e| CliError::general(e.to_string()))?;
    let host = HostServices_TO::from_ptr(services, TD_Opaque);
    (plugin.module.run())(host, RStr::from_str(&json))
        .into_result()
        .map_err(|raw| services::from_plugin_error(name, PluginError::from_raw(raw)))
}
