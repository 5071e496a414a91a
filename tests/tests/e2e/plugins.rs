//! Plugin loading: discovery, `plugin list --json`, crashes and incompatible plugins.

use std::path::Path;

use insforge_tests::kit::{bin_dir, TestEnv};

use crate::snapshot;

/// Copies a test plugin (built under a name discovery ignores) into `dir` as plugin `name`.
fn install_test_plugin(crate_lib: &str, name: &str, dir: &Path) {
    let from = bin_dir().join(format!(
        "{}{crate_lib}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    let to = dir.join(format!(
        "{}insforge_plugin_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
}

fn env_with_test_plugins() -> (TestEnv, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    install_test_plugin("insforge_testplugin_crashing", "crashing", dir.path());
    install_test_plugin("insforge_testplugin_future_abi", "future", dir.path());
    let mut t = TestEnv::new();
    t.env("INSFORGE_PLUGIN_PATH", dir.path());
    (t, dir)
}

#[test]
fn plugin_list_json_reports_every_plugin_and_why_it_cannot_run() {
    let (t, dir) = env_with_test_plugins();
    let run = t.run(&["plugin", "list", "--json"]);
    run.expect_code(0);
    let text = run
        .stdout
        .replace(&dir.path().display().to_string(), "[PLUGINS]");
    insta::assert_snapshot!("plugin_list_json", text);
}

#[test]
fn a_plugin_that_panics_exits_6_and_the_host_survives() {
    let (t, _dir) = env_with_test_plugins();
    snapshot!("plugin_crash", t.run(&["crashing", "panic"]));
    let json = t.run(&["crashing", "panic", "--json"]);
    crate::assert_json_failure(&json, 6, "PLUGIN_ERROR");
    snapshot!("plugin_ok", t.run(&["crashing", "ok"]));
}

#[test]
fn an_incompatible_plugin_is_skipped_and_the_rest_keeps_working() {
    let (t, _dir) = env_with_test_plugins();
    snapshot!("plugin_incompatible", t.run(&["future"]));
    t.run(&["db", "--help"]).expect_code(0);
}

#[test]
fn a_plugin_on_the_plugin_path_shadows_the_bundled_one() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = bin_dir().join(format!(
        "{}insforge_plugin_db{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    std::fs::copy(&bundled, dir.path().join(bundled.file_name().unwrap())).unwrap();
    let mut t = TestEnv::new();
    t.env("INSFORGE_PLUGIN_PATH", dir.path());
    let run = t.run(&["plugin", "list", "--json"]);
    let doc = run.json();
    let db: Vec<_> = doc["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "db")
        .collect();
    assert_eq!(db.len(), 2, "{doc}");
    assert_eq!(db[0]["source"], "path");
    assert_eq!(db[0]["status"], "ok");
    assert_eq!(db[1]["source"], "bundled");
    assert_eq!(db[1]["status"], "shadowed");
}

#[test]
fn a_plugins_platform_requests_carry_the_login_and_renew_it_once() {
    let dir = tempfile::tempdir().unwrap();
    install_test_plugin("insforge_testplugin_crashing", "crashing", dir.path());
    let mut t = TestEnv::with_platform();
    t.env("INSFORGE_PLUGIN_PATH", dir.path());

    // No login: exit 2 before the plugin sends anything.
    let run = t.run(&["crashing", "profile", "--json"]);
    crate::assert_json_failure(&run, 2, "AUTH_ERROR");
    assert!(t.sandbox().requests().is_empty());

    t.login();
    t.sandbox().expire_access_tokens();
    t.sandbox().clear_requests();
    let run = t.run(&["crashing", "profile", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json()["user"]["email"], "ada@example.com");
    let paths: Vec<_> = t.sandbox().requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/auth/v1/profile",
            "/api/oauth/v1/token",
            "/auth/v1/profile"
        ]
    );
}
