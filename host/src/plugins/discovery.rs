//! Finding plugin libraries on disk, without loading any of them.
//!
//! A plugin's file name (`libinsforge_plugin_<name>.so`) gives its name, and so the command it
//! owns. Places are searched in a fixed order: `INSFORGE_PLUGIN_PATH`, the project's
//! `.insforge/plugins/`, the user store `~/.insforge/plugins/<name>/<version>/`, and the plugins
//! bundled beside the executable. The first place holding a name wins; later ones are shadowed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// The feature areas InsForge's own plugins cover; a command named after one whose plugin is
/// missing says so instead of "unrecognized subcommand".
pub const FEATURE_PLUGINS: &[&str] = &[
    "db",
    "functions",
    "storage",
    "deployments",
    "secrets",
    "schedules",
    "diagnose",
    "logs",
    "docs",
];

/// Commands of the host itself; a plugin cannot take their names.
pub const CORE_COMMANDS: &[&str] = &[
    "login",
    "logout",
    "whoami",
    "create",
    "link",
    "current",
    "list",
    "metadata",
    "plugin",
    "completion",
    "help",
];

/// Where a plugin was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Path,
    Project,
    Store,
    Bundled,
}

/// A plugin library found on disk.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub name: String,
    pub path: PathBuf,
    pub source: Source,
}

/// The file name a plugin called `name` has on this platform.
pub fn file_name(name: &str) -> String {
    format!(
        "{}insforge_plugin_{}{}",
        std::env::consts::DLL_PREFIX,
        name,
        std::env::consts::DLL_SUFFIX
    )
}

/// The plugin name in a file name, if it is a plugin's.
pub fn name_from_file(file_name: &str) -> Option<&str> {
    let rest = file_name.strip_prefix(std::env::consts::DLL_PREFIX)?;
    let name = rest
        .strip_prefix("insforge_plugin_")?
        .strip_suffix(std::env::consts::DLL_SUFFIX)?;
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    valid.then_some(name)
}

/// Every plugin library in every place, in search order.
pub fn discover(project_root: Option<&Path>) -> Vec<Candidate> {
    let mut found = Vec::new();
    if let Some(paths) = std::env::var_os("INSFORGE_PLUGIN_PATH") {
        for dir in std::env::split_paths(&paths).filter(|d| !d.as_os_str().is_empty()) {
            scan_dir(&dir, Source::Path, &mut found);
        }
    }
    if let Some(root) = project_root {
        scan_dir(
            &root.join(".insforge").join("plugins"),
            Source::Project,
            &mut found,
        );
    }
    if let Some(store) = crate::config::user_dir().map(|d| d.join("plugins")) {
        scan_store(&store, &mut found);
    }
    for dir in bundled_dirs() {
        scan_dir(&dir, Source::Bundled, &mut found);
    }
    found
}

/// Splits candidates into the one used per name (first in search order) and the shadowed rest.
pub fn resolve(candidates: Vec<Candidate>) -> (BTreeMap<String, Candidate>, Vec<Candidate>) {
    let mut chosen = BTreeMap::new();
    let mut shadowed = Vec::new();
    for c in candidates {
        if chosen.contains_key(&c.name) {
            shadowed.push(c);
        } else {
            chosen.insert(c.name.clone(), c);
        }
    }
    (chosen, shadowed)
}

/// The executable's directory and `../lib/insforge/plugins` beside it (an installed layout).
fn bundled_dirs() -> Vec<PathBuf> {
    let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .and_then(|p| p.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let installed = exe_dir
        .join("..")
        .join("lib")
        .join("insforge")
        .join("plugins");
    vec![exe_dir, installed]
}

fn scan_dir(dir: &Path, source: Source, found: &mut Vec<Candidate>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut here: Vec<Candidate> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let file_name = entry.file_name();
            let name = name_from_file(file_name.to_str()?)?.to_owned();
            let path = entry.path();
            path.is_file().then_some(Candidate { name, path, source })
        })
        .collect();
    // Directory order is arbitrary; sort so the same plugin wins every time.
    here.sort_by(|a, b| a.path.cmp(&b.path));
    found.extend(here);
}

/// The store holds `<name>/<version>/<file>`; the newest version of each name comes first.
fn scan_store(store: &Path, found: &mut Vec<Candidate>) {
    let Ok(names) = std::fs::read_dir(store) else {
        return;
    };
    let mut names: Vec<_> = names.filter_map(Result::ok).map(|e| e.path()).collect();
    names.sort();
    for name_dir in names {
        let Some(name) = name_dir
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        let Ok(versions) = std::fs::read_dir(&name_dir) else {
            continue;
        };
        let mut versions: Vec<(semver::Version, PathBuf)> = versions
            .filter_map(Result::ok)
            .filter_map(|e| {
                let v = semver::Version::parse(e.file_name().to_str()?).ok()?;
                Some((v, e.path()))
            })
            .collect();
        versions.sort_by(|a, b| b.0.cmp(&a.0));
        for (_, dir) in versions {
            let path = dir.join(file_name(&name));
            if path.is_file() {
                found.push(Candidate {
                    name: name.clone(),
                    path,
                    source: Source::Store,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip() {
        assert_eq!(name_from_file(&file_name("db")), Some("db"));
        assert_eq!(name_from_file("libinsforge_testplugin_x.so"), None);
        assert_eq!(name_from_file(&file_name("")), None);
        assert_eq!(name_from_file(&file_name("../x")), None);
    }

    #[test]
    fn first_place_wins_and_the_rest_are_shadowed() {
        let c = |name: &str, source| Candidate {
            name: name.into(),
            path: PathBuf::from(format!("/{name}/{source:?}")),
            source,
        };
        let (chosen, shadowed) = resolve(vec![
            c("db", Source::Path),
            c("db", Source::Bundled),
            c("logs", Source::Bundled),
        ]);
        assert_eq!(chosen["db"].source, Source::Path);
        assert_eq!(chosen["logs"].source, Source::Bundled);
        assert_eq!(shadowed.len(), 1);
        assert_eq!(shadowed[0].source, Source::Bundled);
    }
}
