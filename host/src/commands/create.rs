//! `insforge create`: a new cloud project, linked to the current directory once it is active.

use std::time::{Duration, Instant};

use clap::{Arg, ArgMatches, Command};
use serde_json::{json, Map, Value};

use crate::app::Env;
use crate::commands::link::{self, Org};
use crate::commands::projects;
use crate::config::project::{self, ProjectConfig};
use crate::error::{CliError, Kind, Result};
use crate::prompt;

/// The templates `create` knows by name; only `empty` is available in this version.
const CREATE_TEMPLATES: [&str; 7] = [
    "react",
    "nextjs",
    "chatbot",
    "crm",
    "e-commerce",
    "todo",
    "empty",
];
/// Regions the platform offers (not checked here: the platform decides).
const REGIONS: &str = "us-east, us-west, eu-central, ap-southeast";

/// Time between two looks at a new project. The official tool waits 3 s; the platform (and our
/// sandbox) turns a project active within seconds, so looking every second saves the user up
/// to two seconds of waiting for one cheap request more per second.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long to wait for a new project to become active.
const POLL_TIMEOUT: Duration = Duration::from_secs(120);
/// Consecutive passing failures (5xx, 429, network) of the status check that are tried again
/// before `create` gives up; the official tool gives up at the first. The HTTP client already
/// retries each look twice on 502, 503 and 504, so one more round is enough.
const TRANSIENT_RETRIES: u32 = 1;

pub fn command() -> Command {
    Command::new("create")
        .about("Create a cloud project and link the current directory to it")
        .long_about(
            "Create a new project on the InsForge cloud, wait until it is active, and link the \
             current directory to it (.insforge/project.json).\n\n\
             Needs a login. Without a terminal, give the name with --name, and --org-id when \
             you belong to several organizations.",
        )
        .arg(
            Arg::new("name")
                .long("name")
                .value_name("NAME")
                .help("Project name (letters, numbers, '.', '_', '-'; at least 2)"),
        )
        .arg(
            Arg::new("org-id")
                .long("org-id")
                .value_name("ID")
                .help("The organization to create it in"),
        )
        .arg(
            Arg::new("region")
                .long("region")
                .value_name("REGION")
                .help(format!("Where it runs: {REGIONS}")),
        )
        .arg(
            Arg::new("template")
                .long("template")
                .value_name("NAME")
                .help("Start from a template; this version offers only `empty`"),
        )
        .arg(
            Arg::new("marketplace")
                .long("marketplace")
                .value_name("SLUG")
                .help("Start from a marketplace template (not available in this version)"),
        )
        .arg(
            Arg::new("auth")
                .long("auth")
                .value_name("PROVIDER")
                .help("Auth provider for a template: better-auth"),
        )
        .after_help(
            "Examples:\n  insforge create --name my-app\n  insforge create --name my-app --region eu-central --json",
        )
}

pub fn run(env: &Env, m: &ArgMatches) -> Result<()> {
    let arg = |name: &str| {
        m.get_one::<String>(name)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    };

    // Every flag is checked first, before the login and before any request.
    check_flags(arg("template"), arg("marketplace"), arg("auth"))?;
    let name = arg("name").map(sanitize_name).transpose()?;
    project::refuse_home(&env.cwd, "create")?;
    if name.is_none() && !link::can_ask(env) {
        return Err(link::cannot_ask(env, "--name", "the project needs a name")
            .with_hint("for example --name my-app"));
    }
    let region = arg("region").map(str::trim).filter(|r| !r.is_empty());
    if let Some(warning) = link::ignored_auth(arg("template"), arg("auth"), BLANK) {
        env.output.warning(&warning);
    }

    env.session()?.require_login()?;
    let org = link::choose_org(env, arg("org-id"))?;
    let (given, name) = match name {
        Some(name) => (arg("name").unwrap_or_default().to_owned(), name),
        None => ask_name(env)?,
    };
    if name != given {
        env.output.warning(&format!(
            "using the project name \"{name}\", cleaned from {given:?}: a name has only letters, \
             digits, '.', '_' and '-'"
        ));
    }

    let mut body = Map::new();
    body.insert("name".into(), json!(name));
    if let Some(region) = region {
        body.insert("region".into(), json!(region));
    }
    let progress = Progress::start(env, "Creating project...");
    let created = projects::create_project(env, &org.id, &Value::Object(body));
    let created = match created {
        Ok(created) => created,
        Err(err) => {
            progress.clear();
            return Err(err);
        }
    };
    let id = projects::text(&created, "id");
    if id.is_empty() {
        progress.clear();
        return Err(
            CliError::general("the platform created the project but its answer has no id")
                .with_hint(
                    "find the project on the dashboard, then `insforge link --project-id <id>`",
                ),
        );
    }

    progress.next(env, "Waiting for project to become active...");
    let linked = wait_until_active(env, &id).and_then(|()| finish(env, &org, &created));
    progress.clear();
    let (config, replaced) = linked.map_err(|err| created_but(err, &id))?;
    link::remember_default_org(env, &org.id);
    link::warn_replaced(env, replaced.as_ref());

    let dashboard = link::dashboard_url(&config.project_id);
    if env.output.json_mode() {
        env.output.json_value(&json!({
            "success": true,
            "project": {
                "id": config.project_id,
                "name": config.project_name,
                "appkey": config.appkey,
                "region": config.region,
            },
            "template": "empty",
            "urls": { "dashboard": dashboard },
        }))?;
    } else {
        env.output.success(&format!(
            "Project \"{}\" created and linked",
            config.project_name
        ))?;
        env.output.line(&format!("Dashboard: {dashboard}"))?;
    }
    link::hint_gitignore(env);
    Ok(())
}

/// Fetches the new project's key and writes the link from the creation answer; also returns
/// the link to another project it replaced.
fn finish(env: &Env, org: &Org, created: &Value) -> Result<(ProjectConfig, Option<ProjectConfig>)> {
    let id = projects::text(created, "id");
    let key = projects::access_key(env, &id)?;
    let mut config = projects::link_config(created, key)?;
    if config.org_id.is_empty() {
        config.org_id = org.id.clone();
    }
    let replaced = link::write_link(env, &mut config, link::Guard::AsIs)?;
    Ok((config, replaced))
}

/// Errors after the project exists say so, and how to link it later.
fn created_but(err: CliError, id: &str) -> CliError {
    err.with_hint(format!(
        "the project {id} was created; once it is active, link it with `insforge link --project-id {id}`"
    ))
}

fn check_flags(
    template: Option<&str>,
    marketplace: Option<&str>,
    auth: Option<&str>,
) -> Result<()> {
    if marketplace.is_some() && template.is_some() {
        return Err(CliError::usage(
            "--marketplace and --template are mutually exclusive",
        ));
    }
    if let Some(slug) = marketplace {
        if !valid_slug(slug) {
            return Err(CliError::usage(format!(
                "Invalid --marketplace slug \"{slug}\". Slugs must match /^[a-z0-9][a-z0-9-]{{0,99}}$/."
            ))
            .with_hint("Browse available templates: https://insforge.dev/templates"));
        }
    }
    if let Some(auth) = auth {
        link::check_auth(auth)?;
    }
    if let Some(template) = template {
        link::check_template(template, &CREATE_TEMPLATES)?;
    }
    if let Some(slug) = marketplace {
        return Err(link::templates_unavailable(&format!(
            "--marketplace {slug}"
        )));
    }
    match template {
        Some(t) if t != "empty" => Err(link::templates_unavailable(&format!("--template {t}"))),
        _ => Ok(()),
    }
}

/// `^[a-z0-9][a-z0-9-]{0,99}$`.
fn valid_slug(slug: &str) -> bool {
    let mut chars = slug.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && slug.len() <= 100
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Why `--auth` does nothing here (see [`link::ignored_auth`]).
const BLANK: &str = "this project starts blank";

const NAME_RULE: &str =
    "Project name must be at least 2 safe characters (letters, numbers, hyphens).";

/// The official tool's name cleaning: the last path component, every character outside
/// `[A-Za-z0-9._-]` turned into `-`, runs of `.` made one; at least 2 characters, not `.`.
/// Unlike the official tool, a name left without any ASCII letter or digit (`名前` → `--`) is
/// refused rather than sent.
fn sanitize_name(raw: &str) -> Result<String> {
    let last = raw
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let mut name = String::new();
    for c in last.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        if c == '.' && name.ends_with('.') {
            continue;
        }
        name.push(c);
    }
    if name.chars().count() < 2 || name == "." || name == ".." {
        return Err(CliError::usage(NAME_RULE).with_hint("for example --name my-app"));
    }
    if !name.chars().any(|c| c.is_ascii_alphanumeric()) {
        return Err(CliError::usage(NAME_RULE).with_hint(format!(
            "{raw:?} would become \"{name}\": use ASCII letters or digits, for example --name my-app"
        )));
    }
    Ok(name)
}

/// The name offered by the prompt: the directory's name, lower-cased, with every character
/// outside `[a-z0-9-]` turned into `-`, runs of `-` made one, no `-` at either end.
fn default_name(dir: &std::path::Path) -> Option<String> {
    let base = dir.file_name()?.to_string_lossy().to_lowercase();
    let mut name = String::new();
    for c in base.chars() {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            c
        } else {
            '-'
        };
        if c == '-' && name.ends_with('-') {
            continue;
        }
        name.push(c);
    }
    let name = name.trim_matches('-').to_owned();
    (name.chars().count() >= 2).then_some(name)
}

/// The name typed at the prompt, and what it becomes.
fn ask_name(env: &Env) -> Result<(String, String)> {
    let answer = prompt::text("Project name:", default_name(&env.cwd), |s: &String| {
        sanitize_name(s.trim()).map(drop).map_err(|e| e.message)
    })?;
    let answer = answer.trim().to_owned();
    let name = sanitize_name(&answer)?;
    Ok((answer, name))
}

/// Looks at the project until it is active: at once, then every [`POLL_INTERVAL`], for at most
/// [`POLL_TIMEOUT`].
fn wait_until_active(env: &Env, id: &str) -> Result<()> {
    let started = Instant::now();
    let mut failures = 0;
    loop {
        if started.elapsed() >= POLL_TIMEOUT {
            return Err(CliError::general(
                "Project creation timed out. Check the dashboard for status.",
            )
            .with_hint(format!("the dashboard: {}", link::dashboard_url(id))));
        }
        match status(env, id)? {
            Ok(status) if status == "active" => return Ok(()),
            Ok(status) => {
                tracing::debug!("project {id} is {status:?}");
                failures = 0;
            }
            Err(err) if failures < TRANSIENT_RETRIES => {
                failures += 1;
                tracing::debug!("checking project {id} failed ({failures}), trying again: {err}");
            }
            Err(err) => {
                return Err(err.with_hint(format!(
                    "checking the project's status failed {} times in a row",
                    failures + 1
                )))
            }
        }
        pause(env, POLL_INTERVAL)?;
    }
}

/// The project's status; the inner error is a passing failure worth another try: the network,
/// or an error status other than a refusal (401, 403) or a missing project (404), which for a
/// plain read means a 5xx, a 429 or a proxy's error page.
fn status(env: &Env, id: &str) -> Result<std::result::Result<String, CliError>> {
    match projects::project(env, id) {
        Ok(project) => Ok(Ok(projects::text(&project, "status"))),
        Err(err) if matches!(err.kind, Kind::Network | Kind::Http) => Ok(Err(err)),
        Err(err) => Err(err),
    }
}

/// Waits, unless Ctrl-C comes first.
fn pause(env: &Env, duration: Duration) -> Result<()> {
    let net = env.net()?;
    let interrupt = net.client.interrupt();
    let interrupted = net.runtime.block_on(async {
        tokio::select! {
            () = tokio::time::sleep(duration) => false,
            () = interrupt.wait() => true,
        }
    });
    if interrupted {
        return Err(CliError::new(Kind::Interrupted, "interrupted"));
    }
    Ok(())
}

/// A spinner on a terminal; plain lines on stderr otherwise; nothing with `--json`.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn start(env: &Env, message: &str) -> Self {
        if env.output.json_mode() {
            return Progress { bar: None };
        }
        if !env.output.animations() {
            env.output.stderr_text(&format!("{message}\n"));
            return Progress { bar: None };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Progress { bar: Some(bar) }
    }

    fn next(&self, env: &Env, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_owned()),
            None if !env.output.json_mode() => env.output.stderr_text(&format!("{message}\n")),
            None => {}
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_like_the_official_tool() {
        assert_eq!(sanitize_name("my-app").unwrap(), "my-app");
        assert_eq!(sanitize_name("My App!").unwrap(), "My-App-");
        assert_eq!(sanitize_name("a/b/c.d").unwrap(), "c.d");
        assert_eq!(sanitize_name("x...y").unwrap(), "x.y");
        assert_eq!(sanitize_name("dir/app/").unwrap(), "app");
        for bad in ["a", "..", ".", "a/", "/", "é"] {
            let err = sanitize_name(bad).unwrap_err();
            assert_eq!(err.message, NAME_RULE, "{bad}");
        }
        // Each non-ASCII character becomes a dash; the name keeps its ASCII letters.
        assert_eq!(sanitize_name("Ünïcödé 名前").unwrap(), "-n-c-d----");
    }

    #[test]
    fn a_name_without_any_ascii_letter_or_digit_is_refused() {
        for bad in ["éé", "名前", "-- --", "._.", "🙂🙂"] {
            let err = sanitize_name(bad).unwrap_err();
            assert_eq!(err.message, NAME_RULE, "{bad}");
            assert_eq!(err.kind.exit_code(), 1);
            assert!(err.hints[0].contains("ASCII letters or digits"), "{bad}");
        }
        assert_eq!(sanitize_name("a-").unwrap(), "a-");
        assert_eq!(sanitize_name("名前2").unwrap(), "--2");
    }

    #[test]
    fn the_offered_name_comes_from_the_directory() {
        let p = std::path::Path::new;
        assert_eq!(
            default_name(p("/w/My Cool_App")).as_deref(),
            Some("my-cool-app")
        );
        assert_eq!(default_name(p("/w/--x--y--")).as_deref(), Some("x-y"));
        assert_eq!(default_name(p("/w/x")), None);
        assert_eq!(default_name(p("/")), None);
    }

    #[test]
    fn flags_are_checked_with_the_official_messages() {
        let msg = |t, m, a| check_flags(t, m, a).unwrap_err().message;
        assert_eq!(
            msg(Some("react"), Some("x"), None),
            "--marketplace and --template are mutually exclusive"
        );
        assert_eq!(
            msg(None, Some("-bad"), None),
            "Invalid --marketplace slug \"-bad\". Slugs must match /^[a-z0-9][a-z0-9-]{0,99}$/."
        );
        assert_eq!(
            msg(Some("vue"), None, None),
            "Invalid template \"vue\". Valid options: react, nextjs, chatbot, crm, e-commerce, todo, empty"
        );
        assert_eq!(
            msg(None, None, Some("clerk")),
            "Invalid --auth \"clerk\". Valid: better-auth"
        );
        assert!(msg(Some("react"), None, None).contains("not available"));
        assert!(msg(None, Some("my-shop"), None).contains("not available"));
        assert!(check_flags(Some("empty"), None, Some("better-auth")).is_ok());
        assert!(check_flags(None, None, None).is_ok());
    }

    #[test]
    fn auth_without_a_template_is_ignored_with_a_warning() {
        let expected = "--auth better-auth is ignored: --auth applies to templates only, and \
                        this project starts blank";
        assert_eq!(
            link::ignored_auth(None, Some("better-auth"), BLANK).as_deref(),
            Some(expected)
        );
        assert_eq!(
            link::ignored_auth(Some("empty"), Some("better-auth"), BLANK).as_deref(),
            Some(expected)
        );
        assert_eq!(link::ignored_auth(None, None, BLANK), None);
        assert_eq!(link::ignored_auth(Some("empty"), None, BLANK), None);
    }

    #[test]
    fn slugs_follow_the_pattern() {
        assert!(valid_slug("a"));
        assert!(valid_slug("0-shop-1"));
        assert!(!valid_slug(""));
        assert!(!valid_slug("Shop"));
        assert!(!valid_slug("-a"));
        assert!(valid_slug(&"a".repeat(100)));
        assert!(!valid_slug(&"a".repeat(101)));
    }
}
