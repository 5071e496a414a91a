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
    /// and a cloud link's `oss_host` without a scheme is rebuilt from `appkey` and `region`.
    ///
    /// Unlike the official tool, the scheme is recognised in any case (`HTTP://` is a scheme),
    /// and a self-hosted link's host is never rebuilt: its `appkey` and `region` are
    /// placeholders, and the rebuilt host (`https://ossfkey.us-test.insforge.app`) is an
    /// internet name that would receive the self-hosted backend's API key. Nor is a host built
    /// from an `appkey` or `region` that is not a host name label.
    fn heal(&mut self) {
        if LEGACY_PROJECT_IDS.contains(&self.project_id.as_str()) {
            self.project_id = SELF_HOSTED_PROJECT_ID.into();
        }
        if LEGACY_ORG_IDS.contains(&self.org_id.as_str()) {
            self.org_id = SELF_HOSTED_ORG_ID.into();
        }
        if !self.oss_host.is_empty()
            && !has_http_scheme(&self.oss_host)
            && !self.is_self_hosted()
            && is_host_label(&self.appkey)
            && is_host_label(&self.region)
        {
            self.oss_host = cloud_host(&self.appkey, &self.region);
        }
    }
}

/// The backend host of a cloud project: `https://{appkey}.{region}.insforge.app`. Check both
/// with [`is_host_label`] first.
pub fn cloud_host(appkey: &str, region: &str) -> String {
    format!("https://{appkey}.{region}.insforge.app")
}

/// Whether `value` may stand as one label of the cloud backend's host name: 1 to 63 ASCII
/// lower-case letters, digits and `-`. An `appkey` or `region` of any other shape
/// (`127.0.0.1:40491/#`) would turn `https://{appkey}.{region}.insforge.app` into another host.
pub fn is_host_label(value: &str) -> bool {
    (1..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether `url` starts with `http://` or `https://`, in any case.
fn has_http_scheme(url: &str) -> bool {
    let starts = |prefix: &str| {
        url.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    starts("http://") || starts("https://")
}

/// The path of the link file under a project root.
pub fn link_path(root: &Path) -> PathBuf {
    root.join(".insforge").join("project.json")
}

/// Finds the nearest linked project at or above `cwd`, like git finds `.git`. The home
/// directory is passed over: its `.insforge/` holds the login and settings, never a project,
/// even when some tool left a `project.json` there.
pub fn find(cwd: &Path) -> Result<Option<Project>> {
    find_below_home(cwd, crate::config::home_dir().as_deref())
}

/// [`find`], with the home directory given.
fn find_below_home(cwd: &Path, home: Option<&Path>) -> Result<Option<Project>> {
    let home = home.map(canonical);
    for dir in cwd.ancestors() {
        let path = link_path(dir);
        if !path.is_file() {
            continue;
        }
        if home.as_deref() == Some(canonical(dir).as_path()) {
            tracing::debug!(
                "passing over {}: the home directory's .insforge/ is not a project link",
                path.display()
            );
            continue;
        }
        return read(&path).map(|config| {
            Some(Project {
                root: dir.to_path_buf(),
                config,
            })
        });
    }
    Ok(None)
}

/// The link file directly under `root`, if there is a readable one (no walking up).
pub fn read_at(root: &Path) -> Option<ProjectConfig> {
    let path = link_path(root);
    path.is_file().then(|| read(&path).ok()).flatten()
}

fn read(path: &Path) -> Result<ProjectConfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::general(format!(
            "cannot read {}: {}",
            path.display(),
            crate::config::fs::describe(&e)
        ))
    })?;
    let mut config: ProjectConfig = serde_json::from_str(&text).map_err(|e| {
        CliError::general(format!("{} is not valid: {e}", path.display()))
            .with_hint("fix the file or link again with `insforge link`")
    })?;
    config.heal();
    Ok(config)
}

/// `path` with symbolic links resolved, or as given when it cannot be resolved.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn is_home_of(dir: &Path, home: Option<&Path>) -> bool {
    home.is_some_and(|home| canonical(home) == canonical(dir))
}

/// Refuses to link the home directory, whose `.insforge/` holds the login; `command` is the
/// command the user ran (`link`, `create`).
pub fn refuse_home(dir: &Path, command: &str) -> Result<()> {
    refuse_home_of(dir, crate::config::home_dir().as_deref(), command)
}

fn refuse_home_of(dir: &Path, home: Option<&Path>, command: &str) -> Result<()> {
    if !is_home_of(dir, home) {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "cannot link {} to a project: your home directory's .insforge/ holds your login, not a \
         project link",
        dir.display()
    ))
    .with_hint(format!(
        "run `insforge {command}` in a project directory, e.g. `mkdir my-app && cd my-app` first"
    )))
}

/// Writes the link file under `root` (0600 in a 0700 directory, atomically), in the official
/// tool's format: two-space indentation, no trailing newline. Never in the home directory.
pub fn save(root: &Path, config: &ProjectConfig) -> Result<PathBuf> {
    save_below_home(root, config, crate::config::home_dir().as_deref())
}

fn save_below_home(root: &Path, config: &ProjectConfig, home: Option<&Path>) -> Result<PathBuf> {
    refuse_home_of(root, home, "link")?;
    let dir = root.join(".insforge");
    let path = link_path(root);
    if dir.symlink_metadata().is_ok() && !dir.is_dir() {
        return Err(CliError::general(format!(
            "cannot write {}: {} is a file, not a directory",
            path.display(),
            dir.display()
        ))
        .with_hint(format!(
            "move or remove the file {}, then run the command again",
            dir.display()
        )));
    }
    let text =
        serde_json::to_string_pretty(config).map_err(|e| CliError::general(e.to_string()))?;
    create_private_dir(&dir, 0o700)
        .and_then(|()| write_atomic(&path, text.as_bytes(), Some(0o600)))
        .map_err(|e| write_error(&path, &e))?;
    Ok(path)
}

/// `cannot write <path>: <reason>`, with a hint for the reasons a user can fix.
fn write_error(path: &Path, err: &std::io::Error) -> CliError {
    let dir = path.parent().and_then(Path::parent).unwrap_or(path);
    let error = CliError::general(format!(
        "cannot write {}: {}",
        path.display(),
        crate::config::fs::describe(err)
    ));
    match err.kind() {
        std::io::ErrorKind::PermissionDenied => error.with_hint(format!(
            "you cannot write to {} or its .insforge/ directory: fix their owner or permissions, \
             or run the command in a directory you own",
            dir.display()
        )),
        std::io::ErrorKind::ReadOnlyFilesystem => error.with_hint(format!(
            "{} is on a read-only file system: run the command in a writable directory",
            dir.display()
        )),
        _ => error,
    }
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

    fn healed(project_id: &str, oss_host: &str, appkey: &str, region: &str) -> String {
        let mut c = ProjectConfig {
            project_id: project_id.into(),
            appkey: appkey.into(),
            region: region.into(),
            oss_host: oss_host.into(),
            ..Default::default()
        };
        c.heal();
        c.oss_host
    }

    #[test]
    fn heal_recognises_the_scheme_in_any_case() {
        for host in [
            "HTTP://127.0.0.1:7130",
            "Http://127.0.0.1:7130",
            "HTTPS://abc.us-east.insforge.app",
            "hTTp://localhost",
        ] {
            assert_eq!(healed("p1", host, "abc", "us-east"), host);
            assert_eq!(
                healed(SELF_HOSTED_PROJECT_ID, host, "ossfkey", "us-test"),
                host
            );
        }
    }

    #[test]
    fn heal_never_rebuilds_the_host_of_a_self_hosted_link() {
        for id in [SELF_HOSTED_PROJECT_ID, "oss-project", LEGACY_PROJECT_IDS[1]] {
            for host in ["127.0.0.1:7130", " http://127.0.0.1:7130", "localhost"] {
                assert_eq!(healed(id, host, "ossfkey", "us-test"), host, "{id} {host}");
            }
        }
    }

    #[test]
    fn heal_rebuilds_a_cloud_host_without_a_scheme_from_valid_labels_only() {
        assert_eq!(
            healed("p1", "abc.us-east.insforge.app", "abc", "us-east"),
            "https://abc.us-east.insforge.app"
        );
        assert_eq!(
            healed("p1", "ftp://x", "abc", "us-east"),
            "https://abc.us-east.insforge.app"
        );
        // Without both labels, or with labels that would name another host: left alone.
        assert_eq!(healed("p1", "x", "", "us-east"), "x");
        assert_eq!(healed("p1", "x", "127.0.0.1:1/#", "us-east"), "x");
        assert_eq!(healed("p1", "x", "abc", "Us-East"), "x");
        // An empty host stays empty.
        assert_eq!(healed("p1", "", "abc", "us-east"), "");
    }

    #[test]
    fn host_labels_are_lower_case_letters_digits_and_dashes() {
        for good in ["a", "k7m2p9qx", "us-east", "0", &"a".repeat(63)] {
            assert!(is_host_label(good), "{good}");
        }
        for bad in [
            "",
            "127.0.0.1:40491/#",
            "Abc",
            "a.b",
            "a b",
            "a_b",
            "é",
            &"a".repeat(64),
        ] {
            assert!(!is_host_label(bad), "{bad}");
        }
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
    fn the_home_directory_is_never_taken_for_a_project() {
        let home = tempfile::tempdir().unwrap();
        // A project.json in ~/.insforge (left by some tool) is not a link, even below home.
        let stray = home.path().join(".insforge");
        std::fs::create_dir_all(&stray).unwrap();
        std::fs::write(stray.join("project.json"), r#"{"project_id":"p"}"#).unwrap();
        let below = home.path().join("code/app");
        std::fs::create_dir_all(&below).unwrap();
        assert!(find_below_home(&below, Some(home.path()))
            .unwrap()
            .is_none());
        assert!(find_below_home(home.path(), Some(home.path()))
            .unwrap()
            .is_none());
        // A home reached through another spelling (a symbolic link) is still the home.
        #[cfg(unix)]
        {
            let other = tempfile::tempdir().unwrap();
            let alias = other.path().join("home-alias");
            std::os::unix::fs::symlink(home.path(), &alias).unwrap();
            assert!(find_below_home(&below, Some(&alias)).unwrap().is_none());
        }
        // A real link below home is found as usual.
        save_below_home(
            &below,
            &ProjectConfig::self_hosted("http://h", "k"),
            Some(home.path()),
        )
        .unwrap();
        let found = find_below_home(&below.join("src"), Some(home.path()))
            .unwrap()
            .unwrap();
        assert_eq!(found.root, below);
    }

    #[test]
    fn a_link_is_never_written_in_the_home_directory() {
        let home = tempfile::tempdir().unwrap();
        let config = ProjectConfig::self_hosted("http://h", "k");
        let err = save_below_home(home.path(), &config, Some(home.path())).unwrap_err();
        assert_eq!(err.kind.exit_code(), 1);
        assert!(
            err.message
                .contains("your home directory's .insforge/ holds your login, not a project link"),
            "{}",
            err.message
        );
        assert!(err.hints[0].contains("in a project directory"));
        assert!(!home.path().join(".insforge").exists());
    }

    #[test]
    fn a_file_named_insforge_in_the_way_is_named_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".insforge"), "not a directory").unwrap();
        let err = save_below_home(dir.path(), &ProjectConfig::default(), None).unwrap_err();
        let file = dir.path().join(".insforge");
        assert_eq!(
            err.message,
            format!(
                "cannot write {}: {} is a file, not a directory",
                file.join("project.json").display(),
                file.display()
            )
        );
        assert!(err.hints[0].contains(&file.display().to_string()));
    }

    #[test]
    fn write_errors_name_the_path_without_os_error_numbers() {
        let path = Path::new("/w/app/.insforge/project.json");
        let denied = write_error(path, &std::io::Error::from_raw_os_error(13));
        assert_eq!(
            denied.message,
            "cannot write /w/app/.insforge/project.json: Permission denied"
        );
        assert!(denied.hints[0].contains("/w/app"), "{:?}", denied.hints);
        let full = write_error(path, &std::io::Error::from_raw_os_error(28));
        assert!(!full.message.contains("os error"), "{}", full.message);
        assert!(full
            .message
            .starts_with("cannot write /w/app/.insforge/project.json: "));
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
