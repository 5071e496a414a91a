//! Usage errors exit 1 (never clap's 2, which means "not authenticated" here).

use insforge_tests::kit::TestEnv;

use crate::{assert_json_failure, snapshot};

#[test]
fn unknown_flag_exits_1() {
    let t = TestEnv::linked();
    snapshot!(
        "unknown_flag",
        t.run(&["db", "query", "select 1", "--bogus"])
    );
    assert!(t
        .sandbox()
        .requests()
        .iter()
        .all(|r| !r.path.contains("rawsql")));
}

#[test]
fn missing_argument_exits_1() {
    let t = TestEnv::new();
    snapshot!("missing_argument", t.run(&["db", "rpc"]));
    assert_json_failure(&t.run(&["db", "rpc", "--json"]), 1, "USAGE_ERROR");
}

#[test]
fn group_without_subcommand_shows_help_and_exits_1() {
    let t = TestEnv::new();
    let run = t.run(&["db"]);
    run.expect_code(1);
    assert!(run.stderr.contains("query"), "{}", run.stderr);
}

#[test]
fn arguments_are_checked_before_the_link() {
    // Unlinked, yet the bad argument is what gets reported.
    let t = TestEnv::new();
    snapshot!(
        "rpc_bad_json",
        t.run(&["db", "rpc", "f", "--data", "{oops"])
    );
    snapshot!("import_missing_file", t.run(&["db", "import", "nope.sql"]));
}

#[test]
fn help_lists_the_db_commands() {
    let t = TestEnv::new();
    snapshot!("db_help", t.run(&["db", "--help"]));
}

#[test]
fn completion_scripts_cover_core_and_plugin_commands_and_parse() {
    let t = TestEnv::new();
    let bash = t.run(&["completion", "bash"]);
    bash.expect_code(0);
    for needle in [
        "insforge__subcmd__login",
        "--user-api-key",
        "insforge__subcmd__db__subcmd__query",
        "--unrestricted",
    ] {
        assert!(
            bash.stdout.contains(needle),
            "bash completion lacks {needle}"
        );
    }
    let script = t.write("insforge.bash", &bash.stdout_bytes);
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("bash runs");
    assert!(
        checked.success(),
        "the bash completion script does not parse"
    );
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let run = t.run(&["completion", shell]);
        run.expect_code(0);
        assert!(
            run.stdout.contains("query"),
            "{shell} completion lacks db query"
        );
    }
    t.run(&["completion", "tcsh"]).expect_code(1);
}

#[test]
fn json_usage_errors_name_the_arguments_involved() {
    let t = TestEnv::new();
    let run = t.run(&["db", "query", "--json"]);
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert!(line["error"].as_str().unwrap().contains("<SQL>"), "{line}");
    let run = t.run(&["login", "--device", "--email", "--json"]);
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert!(
        line["error"].as_str().unwrap().contains("--email"),
        "{line}"
    );
}

#[test]
fn a_feature_whose_plugin_is_missing_says_so_and_exits_6() {
    let t = TestEnv::new();
    snapshot!("missing_plugin", t.run(&["functions", "list"]));
}

#[test]
fn a_broken_link_file_is_reported_but_link_can_replace_it() {
    let t = TestEnv::new();
    t.write(".insforge/project.json", "{bad");
    let run = t.run(&["db", "tables", "--json"]);
    let line = assert_json_failure(&run, 1, "UNKNOWN_ERROR");
    assert!(
        line["error"].as_str().unwrap().contains("project.json"),
        "{line}"
    );
    let current = t.run(&["current"]);
    current.expect_code(1);
    assert!(
        current.stderr.contains("project.json"),
        "{}",
        current.stderr
    );
    t.run(&[
        "link",
        "--api-base-url",
        "http://127.0.0.1:9",
        "--api-key",
        "ik_x",
    ])
    .expect_code(0);
    let text = std::fs::read_to_string(t.cwd().join(".insforge/project.json")).unwrap();
    assert!(text.contains("\"oss_host\": \"http://127.0.0.1:9\""));
}

#[test]
fn an_out_of_range_number_is_refused_before_the_link_is_looked_at() {
    // Not linked: the argument error comes first (exit 1), not "not linked" (exit 3).
    let t = TestEnv::new();
    let run = t.run(&["db", "export", "--row-limit", "0", "--json"]);
    let line = assert_json_failure(&run, 1, "USAGE_ERROR");
    assert!(
        line["error"].as_str().unwrap().contains("1..=10000"),
        "{line}"
    );
    t.run(&["db", "export", "--row-limit", "10001"])
        .expect_code(1);
}

#[test]
fn a_self_hosted_link_needs_neither_a_home_nor_the_users_settings() {
    let t = TestEnv::linked();
    // A broken config.json and an unusable platform URL do not matter to the backend.
    std::fs::create_dir_all(t.home().join(".insforge")).unwrap();
    std::fs::write(t.home().join(".insforge/config.json"), "{broken").unwrap();
    t.run_with_env(&["db", "tables"], &[("INSFORGE_API_URL", "ftp://nowhere")])
        .expect_code(0);
    let mut cmd = t.command(t.cwd(), &["db", "tables"]);
    cmd.env_remove("HOME");
    t.run_command(cmd).expect_code(0);

    // Unlinked, the answer is "not linked" (3), whatever state ~/.insforge is in.
    let elsewhere = tempfile::tempdir().unwrap();
    let run = t.run_in(elsewhere.path(), &["db", "tables", "--json"]);
    assert_json_failure(&run, 3, "PROJECT_NOT_LINKED");
}

#[test]
fn a_mistyped_flag_is_a_usage_error_never_sent_as_sql() {
    let t = TestEnv::linked();
    for args in [
        &["db", "query", "--josn"][..],
        &["db", "query", "--unrestrcted"],
        &["db", "rpc", "--bogus"],
    ] {
        let run = t.run(args);
        run.expect_code(1);
        assert!(run.stderr.contains("unexpected argument"), "{}", run.stderr);
    }
    assert!(
        t.sandbox().requests().is_empty(),
        "nothing may be sent: {:?}",
        t.sandbox().requests()
    );
    // SQL that really starts with `-` goes after `--`.
    let run = t.run(&[
        "db",
        "query",
        "--json",
        "--",
        "-- a comment\nselect 1 as one",
    ]);
    run.expect_code(0);
    assert_eq!(run.json()["rows"][0]["one"], 1);
}
