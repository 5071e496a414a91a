//! The project link: `.insforge/project.json`, found like git finds `.git`.
//!
//! The file's fields are the official tool's, so a directory linked by either tool works with
//! the other. Fields we do not know are kept when we rewrite the file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::fs::{create_private_dir, write_atomic};
use crate::error::{CliError, Result};

/// The sentinel project id the official tool writes for a self-hosted link.
pub const SELF_HOSTED_PROJECT_ID: &str = "fa4e0000-1234-5678-90ab-cd1234567890";
/// The sentinel organisation id of a self-hosted link.
pub const SELF_HOSTED_ORG_ID: &str = "fa4e0001-1234-5678-90ab-cd1234567890";
const LEGACY_PROJECT_IDS: [&str; 2] = ["oss-project", "fa4e0000-1234-5678-90ab-0e02b2c3d479"];
const LEGACY_ORG_IDS: [&str; 2] = ["oss-org", "fa4e0001-1234-5678-90ab-0e02b2c3d479"];

/// The contents of `.insforge/project.json`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ProjectConfig {
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub project_name: String,
    #[serde(default)]
    pub org_id: String,
    #[serde(default)]
    pub appkey: String,
    #[serde(default)]
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default)]
    pub oss_host: String,
    /// Everything else (`guard`, `branched_from`, fields of future versions), kept as is.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A linked project and where its link lives.
#[derive(Clone, Debug)]
pub struct Project {
    /// The directory that holds `.insforge/`.
    pub root: PathBuf,
    pub config: ProjectConfig,
}

impl ProjectConfig {
    /// A self-hosted link, with the sentinel values the official tool writes.
    pub fn self_hosted(api_base_url: &str, api_key: &str) -> Self {
        ProjectConfig {
            project_id: SELF_HOSTED_PROJECT_ID.into(),
            project_name: "oss-project".into(),
            org_id: SELF_HOSTED_ORG_ID.into(),
            appkey: "ossfkey".into(),
            region: "us-test".into(),
            api_key: Some(api_key.into()),
            oss_host: api_base_url
                .strip_suffix('/')
                .unwrap_or(api_base_url)
                .into(),
            extra: Map::new(),
        }
    }

    /// Whether this is a self-hosted link (no platform login involved).
    pub fn is_self_hosted(&self) -> bool {
        self.project_id == SELF_HOSTED_PROJECT_ID
    }

    /// Applies the official tool's read-time repairs: legacy sentinels become the current ones,
    /// and an `oss_host` without a scheme is rebuilt from `appkey` and `region`.
    fn heal(&mut self) {
        if LEGACY_PROJECT_IDS.contains(&self.project_id.as_str()) {
            self.project_id = SELF_HOSTED_PROJECT_ID.into();
        }
        if LEGACY_ORG_IDS.contains(&self.org_id.as_str()) {
            self.org_id = SELF_HOSTED_ORG_ID.into();
        }
        let has_scheme =
            self.oss_host.starts_with("http://") || self.oss_host.starts_with("https://");
        if !self.oss_host.is_empty()
            && !has_scheme
            && !self.appkey.is_empty()
            && !self.region.is_empty()
        {
            self.oss_host = format!("https://{}.{}.insforge.app", self.appkey, self.region);
        }
    }
}

/// The path of the link file under a project root.
pub fn link_path(root: &Path) -> PathBuf {
    root.join(".insforge").join("project.json")
}

/// Finds the nearest linked project at or above `cwd`. The user's `~/.insforge/` directory holds
/// global settings, never a `project.json`, so a home directory is only a project when it really
/// has a link file.
pub fn find(cwd: &Path) -> Result<Option<Project>> {
    for dir in cwd.ancestors() {
        let path = link_path(dir);
        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| CliError::general(format!("cannot read {}: {e}", path.display())))?;
            let mut config: ProjectConfig = serde_json::from_str(&text).map_err(|e| {
                CliError::general(format!("{} is not valid: {e}", path.display()))
                    .with_hint("fix the file or link again with `insforge link`")
            })?;
            config.heal();
            return Ok(Some(Project {
                root: dir.to_path_buf(),
                config,
            }));
        }
    }
    Ok(None)
}

/// Writes the link file under `root` (0600 in a 0700 directory, atomically), in the official
/// tool's format: two-space indentation, no trailing newline.
pub fn save(root: &Path, config: &ProjectConfig) -> Result<PathBuf> {
    let dir = root.join(".insforge");
    create_private_dir(&dir, 0o700)?;
    let path = link_path(root);
    let text =
        serde_json::to_string_pretty(config).map_err(|e| CliError::general(e.to_string()))?;
    write_atomic(&path, text.as_bytes(), Some(0o600))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let text = r#"{"project_id":"p","guard":true,"branched_from":{"project_id":"x"}}"#;
        let config: ProjectConfig = serde_json::from_str(text).unwrap();
        let out = serde_json::to_value(&config).unwrap();
        assert_eq!(out["guard"], Value::Bool(true));
        assert_eq!(out["branched_from"]["project_id"], "x");
    }

    #[test]
    fn legacy_self_hosted_sentinels_are_healed() {
        let mut c = ProjectConfig {
            project_id: "oss-project".into(),
            org_id: "oss-org".into(),
            oss_host: "http://localhost:7130".into(),
            ..Default::default()
        };
        c.heal();
        assert!(c.is_self_hosted());
        assert_eq!(c.org_id, SELF_HOSTED_ORG_ID);
        assert_eq!(c.oss_host, "http://localhost:7130");
    }

    #[test]
    fn find_walks_up_to_the_nearest_link() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &ProjectConfig::self_hosted("http://h/", "ik_x")).unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let found = find(&nested).unwrap().unwrap();
        assert_eq!(found.root, dir.path());
        assert_eq!(found.config.oss_host, "http://h");
    }

    #[test]
    fn saved_file_has_official_key_order_and_no_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = save(dir.path(), &ProjectConfig::self_hosted("http://h", "ik_x")).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        assert!(!text.ends_with('\n'));
        let keys: Vec<_> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix('"'))
            .map(|l| l.split('"').next().unwrap())
            .collect();
        assert_eq!(
            keys,
            [
                "project_id",
                "project_name",
                "org_id",
                "appkey",
                "region",
                "api_key",
                "oss_host"
            ]
        );
    }
}
