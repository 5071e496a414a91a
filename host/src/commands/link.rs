//! `insforge link`: connects the current directory to a project, either a cloud project through
//! the platform login or a self-hosted backend by its URL and API key.
//!
//! Also the home of what `create` shares with it: choosing an organisation, the template and
//! auth flags, `--guard`, and the dashboard address.

use clap::{Arg, ArgMatches, Command};
use serde_json::{json, Value};

use crate::app::Env;
use crate::commands::projects;
use crate::config::project::{self, ProjectConfig};
use crate::error::{CliError, Kind, Result};
use crate::prompt;

/// The templates `link` knows by name.
pub(crate) const LINK_TEMPLATES: [&str; 6] =
    ["react", "nextjs", "chatbot", "crm", "e-commerce", "todo"];
/// The auth providers `--auth` accepts.
pub(crate) const AUTH_PROVIDERS: [&str; 1] = ["better-auth"];
/// The dashboard, unless `INSFORGE_FRONTEND_URL` names another.
const DEFAULT_FRONTEND_URL: &str = "https://insforge.dev";

pub fn command() -> Command {
    Command::new("link")
        .about("Link the current directory to a project")
        .long_about(
            "Link the current directory to a project.\n\n\
             A cloud project is linked by its id (--project-id), with your platform login; on a \
             terminal you can also pick the organization and project from a list. A self-hosted \
             backend is linked by its URL and API key and needs no login. Commands run in this \
             directory or any directory below it then talk to that project. The link is stored \
             in .insforge/project.json (readable only by you); keep .insforge/ out of version \
             control.",
        )
        .arg(
            Arg::new("project-id")
                .long("project-id")
                .value_name("ID")
                .conflicts_with_all(["api-base-url", "api-key"])
                .help("The cloud project to link"),
        )
        .arg(
            Arg::new("org-id")
                .long("org-id")
                .value_name("ID")
                .conflicts_with_all(["api-base-url", "api-key"])
                .help("The organization to pick the project from (and your default from now on)"),
        )
        .arg(
            Arg::new("api-base-url")
                .long("api-base-url")
                .value_name("URL")
                .help("Base URL of a self-hosted backend, e.g. http://localhost:7130"),
        )
        .arg(
            Arg::new("api-key")
                .long("api-key")
                .value_name("KEY")
                .help("The self-hosted backend's API key (ik_...)"),
        )
        .arg(
            Arg::new("template")
                .long("template")
                .value_name("NAME")
                .help("Start from a template (not available in this version)"),
        )
        .arg(
            Arg::new("auth")
                .long("auth")
                .value_name("PROVIDER")
                .help("Auth provider for a template: better-auth"),
        )
        .arg(
            Arg::new("guard")
                .long("guard")
                .value_name("STATE")
                .num_args(0..=1)
                .default_missing_value("on")
                .help(
                    "Record the official tool's guard setting in the link: on (bare flag) or off \
                     (off, false, 0, no, disabled). This version does not enforce the guard",
                ),
        )
        .after_help(
            "Examples:\n  \
             # Link a cloud project\n  \
             insforge link --project-id 123e4567-e89b-12d3-a456-426614174000\n  \
             # Link a self-hosted backend\n  \
             insforge link --api-base-url http://localhost:7130 --api-key ik_...",
        )
}

pub fn run(env: &Env, m: &ArgMatches) -> Result<()> {
    let arg = |name: &str| m.get_one::<String>(name).map(String::as_str);
    // Every flag is checked before anything is read or sent.
    if let Some(auth) = arg("auth") {
        check_auth(auth)?;
    }
    if let Some(template) = arg("template") {
        check_template(template, &LINK_TEMPLATES)?;
        return Err(templates_unavailable(&format!("--template {template}")));
    }
    let guard = match arg("guard") {
        Some(value) => Guard::Set(guard_value(value)),
        None => Guard::Keep,
    };
    project::refuse_home(&env.cwd, "link")?;
    let target = target(
        env,
        arg("api-base-url"),
        arg("api-key"),
        arg("project-id"),
        arg("org-id"),
    )?;
    if let Some(warning) = ignored_auth(arg("template"), arg("auth"), "this link uses no template")
    {
        env.output.warning(&warning);
    }

    match target {
        Target::SelfHosted { url, key } => link_self_hosted(env, &url, key, guard),
        Target::Cloud { project_id, org_id } => link_cloud(env, project_id, org_id, guard),
    }
}

/// What the flags ask to link.
enum Target<'a> {
    /// A self-hosted backend: its URL, checked, and its key.
    SelfHosted { url: reqwest::Url, key: &'a str },
    /// A cloud project, by id or (on a terminal) picked from an organisation.
    Cloud {
        project_id: Option<&'a str>,
        org_id: Option<&'a str>,
    },
}

/// Checks the flags that name what to link, before anything is read or sent. Without a
/// terminal a cloud link needs `--project-id` or `--org-id`: any other flag alone (`--auth`,
/// `--guard`) answers no question a picker would ask.
fn target<'a>(
    env: &Env,
    url: Option<&str>,
    key: Option<&'a str>,
    project_id: Option<&'a str>,
    org_id: Option<&'a str>,
) -> Result<Target<'a>> {
    match (url, key) {
        (Some(url), Some(key)) => {
            return Ok(Target::SelfHosted {
                url: self_hosted_url(url, key)?,
                key,
            })
        }
        (None, None) => {}
        _ => {
            return Err(CliError::usage(
                "Both --api-base-url and --api-key must be provided together for direct linking.",
            )
            .with_hint("for example --api-base-url http://localhost:7130 --api-key ik_..."))
        }
    }

    let project_id = project_id.filter(|s| !s.trim().is_empty());
    let org_id = org_id.filter(|s| !s.trim().is_empty());
    if project_id.is_none() && org_id.is_none() && !can_ask(env) {
        return Err(CliError::usage(
            "link needs a project: pass --project-id (cloud) or --api-base-url with --api-key (self-hosted)",
        )
            .with_hint(
                "cloud: insforge link --project-id <id>  (see your projects with `insforge list`)",
            )
            .with_hint("self-hosted: insforge link --api-base-url <url> --api-key <key>"));
    }
    Ok(Target::Cloud { project_id, org_id })
}

/// `--api-base-url` parsed, once it and `--api-key` are found fit for a link.
fn self_hosted_url(url: &str, key: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
        .ok_or_else(|| {
            CliError::usage(format!("--api-base-url {url} is not an http(s) URL"))
                .with_hint("for example --api-base-url http://localhost:7130")
        })?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(CliError::usage(format!(
            "--api-base-url {url} must not have a query or fragment"
        )));
    }
    if key.trim().is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CliError::usage(
            "--api-key must be a non-empty key without spaces",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(CliError::usage(
            "--api-base-url must not contain a user or password; the API key is the credential",
        ));
    }
    Ok(parsed)
}

fn link_self_hosted(env: &Env, url: &reqwest::Url, key: &str, guard: Guard) -> Result<()> {
    // What is stored is the URL as parsed: scheme and host in lower case, surrounding spaces
    // gone. The official tool reads a host whose scheme is not a lower-case `http://` or
    // `https://` as a cloud host, and would send the key to `https://ossfkey.us-test...`.
    let mut config = ProjectConfig::self_hosted(url.as_str(), key);
    let replaced = write_link(env, &mut config, guard)?;
    warn_replaced(env, replaced.as_ref());
    if env.output.json_mode() {
        env.output.json_value(&linked_json(&config))?;
    } else {
        env.output
            .success(&format!("Linked to direct project at {}", config.oss_host))?;
    }
    hint_gitignore(env);
    Ok(())
}

fn link_cloud(
    env: &Env,
    project_id: Option<&str>,
    org_flag: Option<&str>,
    guard: Guard,
) -> Result<()> {
    env.session()?.require_login()?;

    // An organisation is needed only to pick the project from.
    let org = match (project_id, org_flag) {
        (Some(_), None) => None,
        _ => Some(choose_org(env, org_flag)?),
    };
    let project_id = match project_id {
        Some(id) => id.to_owned(),
        None => {
            let org = org.as_ref().expect("an organisation was chosen");
            choose_project(env, &org.id)?
        }
    };

    let refine = |status: u16, body: &[u8]| no_access(env, &project_id, status, body);
    let mut config = projects::fetch_link_refined(env, &project_id, &refine)?;
    if let Some(org) = &org {
        if config.org_id.is_empty() {
            config.org_id = org.id.clone();
        } else if config.org_id != org.id {
            env.output.warning(&format!(
                "project {project_id} belongs to organization {}, not {}",
                config.org_id, org.id
            ));
        }
    }
    let replaced = write_link(env, &mut config, guard)?;
    if let Some(org) = &org {
        remember_default_org(env, &org.id);
    }
    warn_replaced(env, replaced.as_ref());

    if env.output.json_mode() {
        env.output.json_value(&linked_json(&config))?;
    } else {
        env.output.success(&format!(
            "Linked to project \"{}\" ({}.{})",
            config.project_name, config.appkey, config.region
        ))?;
        env.output
            .line(&format!("Dashboard: {}", dashboard_url(&config.project_id)))?;
    }
    hint_gitignore(env);
    Ok(())
}

/// What a new link says about `guard`, the official tool's setting (recorded, not enforced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Guard {
    /// `link --guard <state>`: on or off, as given.
    Set(bool),
    /// `link` without `--guard`: what the link it replaces in this directory says, if anything.
    Keep,
    /// `create`: only what `config` says (a new project's link starts without one).
    AsIs,
}

/// Writes the link in the working directory; returns the link it replaced there when that one
/// was to another project. The link already there is read once, here, and decides both what
/// carries over and what is reported as replaced: a link to the same project keeps the fields
/// of the one it replaces that `config` does not set (`branched_from`, fields of other tools
/// and versions); a link to another project starts afresh but for `guard` (see [`Guard`]).
pub(crate) fn write_link(
    env: &Env,
    config: &mut ProjectConfig,
    guard: Guard,
) -> Result<Option<ProjectConfig>> {
    let previous = project::read_at(&env.cwd);
    let replaced = relink(previous, config, guard);
    project::save(&env.cwd, config)?;
    Ok(replaced)
}

/// Makes `config` the link that follows `previous` (the link in the directory, if any) and
/// returns `previous` when it was to another project.
fn relink(
    previous: Option<ProjectConfig>,
    config: &mut ProjectConfig,
    guard: Guard,
) -> Option<ProjectConfig> {
    let guard = match guard {
        Guard::Set(on) => Some(Value::Bool(on)),
        Guard::Keep => previous
            .as_ref()
            .and_then(|p| p.extra.get("guard").cloned()),
        Guard::AsIs => None,
    };
    if let Some(guard) = guard {
        config.extra.insert("guard".into(), guard);
    }
    match previous {
        Some(old) if same_project(&old, config) => {
            keep_unknown_fields(&old, config);
            None
        }
        other => other,
    }
}

/// Gives `config` the fields of `old` it does not know, in their old order; its own values win.
fn keep_unknown_fields(old: &ProjectConfig, config: &mut ProjectConfig) {
    let mut merged = old.extra.clone();
    for (key, value) in std::mem::take(&mut config.extra) {
        merged.insert(key, value);
    }
    config.extra = merged;
}

/// Whether two links lead to the same project: the same cloud project, or the same self-hosted
/// backend (every self-hosted link has the same sentinel id).
fn same_project(a: &ProjectConfig, b: &ProjectConfig) -> bool {
    a.project_id == b.project_id && (!a.is_self_hosted() || same_backend(&a.oss_host, &b.oss_host))
}

/// Whether two backend URLs are the same once parsed (`HTTP://H:80/` is `http://h`), ignoring
/// one trailing `/`; URLs that do not parse are compared as written.
fn same_backend(a: &str, b: &str) -> bool {
    let normal = |url: &str| {
        let parsed = reqwest::Url::parse(url).map(String::from);
        let text = parsed.unwrap_or_else(|_| url.trim().to_owned());
        text.strip_suffix('/').map(str::to_owned).unwrap_or(text)
    };
    normal(a) == normal(b)
}

/// `replacing the link to <name> (<id>)` (a self-hosted backend by its URL) on stderr.
pub(crate) fn warn_replaced(env: &Env, replaced: Option<&ProjectConfig>) {
    let Some(old) = replaced else { return };
    let which = if old.is_self_hosted() || old.project_id.is_empty() {
        &old.oss_host
    } else {
        &old.project_id
    };
    let name = if old.project_name.is_empty() {
        "a project"
    } else {
        &old.project_name
    };
    env.output
        .warning(&format!("replacing the link to {name} ({which})"));
}

/// After a link is written: a `hint:` when git would pick up `.insforge/` (which holds the API
/// key). The `.gitignore` is only read, never edited.
pub(crate) fn hint_gitignore(env: &Env) {
    if let Some(hint) = crate::config::gitignore::advice(&env.cwd) {
        env.output.hint(&hint);
    }
}

/// `{"success":true,"project":{"id","name","region"}}`.
fn linked_json(config: &ProjectConfig) -> Value {
    json!({
        "success": true,
        "project": {
            "id": config.project_id,
            "name": config.project_name,
            "region": config.region,
        },
    })
}

/// A 403 while reading the project or its key: the login has no access to it (exit 5); a 404
/// naming the project: no such project for this login (exit 4). Both name the identity.
fn no_access(env: &Env, project_id: &str, status: u16, body: &[u8]) -> Option<CliError> {
    let (kind, what) = if status == 403 {
        (
            Kind::PermissionDenied,
            format!("No access to project {project_id}"),
        )
    } else if projects::names_missing(status, body, "project", "/projects/v1") {
        (Kind::NotFound, format!("Project {project_id} not found"))
    } else {
        return None;
    };
    let env_token = env.session().map(|s| s.uses_env_token()).unwrap_or(false);
    // A token from the environment may belong to anyone: the stored user would be a guess.
    let identity = if env_token {
        None
    } else {
        env.session()
            .ok()
            .and_then(|s| s.credentials().ok().flatten())
            .and_then(|c| c.identity())
    };
    let err = CliError::new(
        kind,
        format!(
            "{} as {}. Double-check the project ID, or run `insforge logout` to switch accounts.",
            what,
            identity.as_deref().unwrap_or("unknown user")
        ),
    );
    Some(if env_token {
        err.with_hint("the login came from INSFORGE_ACCESS_TOKEN; use a token of an account with access to the project")
    } else {
        err.with_hint("see the projects you can link with `insforge list`")
    })
}

/// An organisation to work in.
pub(crate) struct Org {
    pub id: String,
    /// Empty when it came from `--org-id`.
    pub name: String,
}

/// The organisation from `--org-id`, else the user's only one, else the one picked on a
/// terminal.
pub(crate) fn choose_org(env: &Env, flag: Option<&str>) -> Result<Org> {
    if let Some(id) = flag {
        return Ok(Org {
            id: id.to_owned(),
            name: String::new(),
        });
    }
    let orgs = projects::organizations(env)?;
    let named: Vec<Org> = orgs
        .iter()
        .map(|o| Org {
            id: projects::text(o, "id"),
            name: projects::text(o, "name"),
        })
        .collect();
    match named.len() {
        0 => Err(CliError::general("No organizations found.")
            .with_hint("create an organization on the InsForge dashboard first")),
        1 => {
            let org = named.into_iter().next().expect("one organisation");
            info(env, &format!("Using organization: {}", org.name));
            Ok(org)
        }
        _ if can_ask(env) => {
            let labels: Vec<String> = named.iter().map(|o| o.name.clone()).collect();
            match prompt::select("Select an organization:", &labels)? {
                Some(i) => Ok(named.into_iter().nth(i).expect("a listed organisation")),
                None => Err(CliError::usage("no organization selected")),
            }
        }
        _ => Err(several_orgs(
            cannot_ask(env, "--org-id", "you belong to several organizations"),
            &named,
        )),
    }
}

/// The error for several organisations and no one to ask: `cannot_ask`, with a hint listing
/// them by name and id.
fn several_orgs(cannot_ask: CliError, orgs: &[Org]) -> CliError {
    let choices: Vec<String> = orgs
        .iter()
        .map(|o| format!("{} ({})", o.name, o.id))
        .collect();
    cannot_ask.with_hint(format!("your organizations: {}", choices.join(", ")))
}

/// The project picked on a terminal from the organisation's projects.
fn choose_project(env: &Env, org_id: &str) -> Result<String> {
    let projects = projects::org_projects(env, org_id)?;
    if projects.is_empty() {
        return Err(CliError::general("No projects found in this organization.")
            .with_hint("create one with `insforge create`"));
    }
    if !can_ask(env) {
        return Err(cannot_ask(env, "--project-id", "no project was named")
            .with_hint("see your projects and their ids with `insforge list`"));
    }
    let labels: Vec<String> = projects
        .iter()
        .map(|p| {
            format!(
                "{} ({}, {})",
                projects::text(p, "name"),
                projects::text(p, "region"),
                projects::text(p, "status")
            )
        })
        .collect();
    match prompt::select("Select a project to link:", &labels)? {
        Some(i) => Ok(projects::text(&projects[i], "id")),
        None => Err(CliError::usage("no project selected")),
    }
}

/// Whether questions may be asked: a terminal, and no `--json` (whose callers are scripts).
pub(crate) fn can_ask(env: &Env) -> bool {
    prompt::interactive() && !env.output.json_mode()
}

/// The error for a question that cannot be asked, naming the flag that answers it.
pub(crate) fn cannot_ask(env: &Env, flag: &str, what: &str) -> CliError {
    if env.output.json_mode() && prompt::interactive() {
        CliError::usage(format!("{what}, and --json never asks")).with_hint(format!("pass {flag}"))
    } else {
        prompt::needs_flag(flag, what)
    }
}

/// An informational line on stderr (human mode only).
pub(crate) fn info(env: &Env, text: &str) {
    if !env.output.json_mode() {
        env.output.stderr_text(&format!("{text}\n"));
    }
}

/// Remembers the organisation as the default in `~/.insforge/config.json`. Called once the
/// link is written, which stands either way: a `config.json` that cannot be written is a
/// warning, not a failure.
pub(crate) fn remember_default_org(env: &Env, org_id: &str) {
    if let Err(err) = save_default_org(env, org_id) {
        env.output.warning(&format!(
            "the link is written, but organization {org_id} could not be saved as your \
             default: {}",
            err.message
        ));
    }
}

fn save_default_org(env: &Env, org_id: &str) -> Result<()> {
    let files = env.user_files()?;
    let mut settings = files.load_settings()?;
    if settings.default_org_id.as_deref() == Some(org_id) {
        return Ok(());
    }
    settings.default_org_id = Some(org_id.to_owned());
    files.save_settings(&settings)
}

/// `{frontend}/dashboard/project/{id}`; only ever printed, never fetched.
pub(crate) fn dashboard_url(project_id: &str) -> String {
    let frontend = std::env::var("INSFORGE_FRONTEND_URL")
        .ok()
        .map(|s| s.trim().trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_FRONTEND_URL.to_owned());
    format!("{frontend}/dashboard/project/{project_id}")
}

pub(crate) fn check_auth(value: &str) -> Result<()> {
    if AUTH_PROVIDERS.contains(&value) {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "Invalid --auth \"{value}\". Valid: {}",
        AUTH_PROVIDERS.join(", ")
    )))
}

pub(crate) fn check_template(value: &str, valid: &[&str]) -> Result<()> {
    if valid.contains(&value) {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "Invalid template \"{value}\". Valid options: {}",
        valid.join(", ")
    )))
}

/// The warning for an `--auth` that does nothing: it sets up auth in a template's code, and
/// the only projects this version links or creates are without one (no template, or
/// `empty`). `what` says what happens instead.
pub(crate) fn ignored_auth(
    template: Option<&str>,
    auth: Option<&str>,
    what: &str,
) -> Option<String> {
    let auth = auth?;
    matches!(template, None | Some("empty"))
        .then(|| format!("--auth {auth} is ignored: --auth applies to templates only, and {what}"))
}

/// This version links and creates projects but does not download templates.
pub(crate) fn templates_unavailable(what: &str) -> CliError {
    CliError::usage(format!(
        "templates are not available in this version of insforge, so {what} cannot be used"
    ))
    .with_hint("leave out the template; you can copy the template's files into the linked directory yourself")
}

/// `--guard` off/false/0/no/disabled (any case) → false; any other value or the bare flag →
/// true.
pub(crate) fn guard_value(value: &str) -> bool {
    !matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "off" | "false" | "0" | "no" | "disabled"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_values_read_like_the_official_tool() {
        for off in ["off", "FALSE", "0", "no", "Disabled"] {
            assert!(!guard_value(off), "{off}");
        }
        for on in ["on", "true", "1", "yes", "whatever"] {
            assert!(guard_value(on), "{on}");
        }
    }

    #[test]
    fn flag_messages_are_the_official_ones() {
        assert_eq!(
            check_auth("clerk").unwrap_err().message,
            "Invalid --auth \"clerk\". Valid: better-auth"
        );
        assert!(check_auth("better-auth").is_ok());
        assert_eq!(
            check_template("vue", &LINK_TEMPLATES).unwrap_err().message,
            "Invalid template \"vue\". Valid options: react, nextjs, chatbot, crm, e-commerce, todo"
        );
        assert_eq!(
            check_template("vue", &LINK_TEMPLATES)
                .unwrap_err()
                .kind
                .exit_code(),
            1
        );
    }

    #[test]
    fn the_dashboard_address_is_built_from_the_frontend() {
        // INSFORGE_FRONTEND_URL is not set in unit tests.
        if std::env::var_os("INSFORGE_FRONTEND_URL").is_none() {
            assert_eq!(
                dashboard_url("p1"),
                "https://insforge.dev/dashboard/project/p1"
            );
        }
    }

    #[test]
    fn a_link_replaces_another_project_only_when_it_differs() {
        let a = ProjectConfig::self_hosted("http://a:1/", "k1");
        let b = ProjectConfig::self_hosted("http://a:1", "k2");
        let c = ProjectConfig::self_hosted("http://c:1", "k1");
        assert!(same_project(&a, &b), "a new key for the same backend");
        assert!(!same_project(&a, &c));
        let cloud = |id: &str| ProjectConfig {
            project_id: id.into(),
            ..Default::default()
        };
        assert!(same_project(&cloud("p1"), &cloud("p1")));
        assert!(!same_project(&cloud("p1"), &cloud("p2")));
        assert!(!same_project(&cloud("p1"), &a));
    }

    #[test]
    fn the_same_backend_is_recognised_however_its_url_is_spelled() {
        assert!(same_backend("http://a:1", "HTTP://A:1/"));
        assert!(same_backend("http://a", "http://a:80"));
        assert!(same_backend("http://a/p/", "Http://a/p"));
        assert!(!same_backend("http://a/p", "http://a/P"));
        assert!(!same_backend("http://a:1", "https://a:1"));
    }

    #[test]
    fn a_relink_keeps_the_old_links_unknown_fields_in_order_with_its_own_values_winning() {
        let mut old = ProjectConfig::self_hosted("http://a:1", "k1");
        old.extra
            .insert("branched_from".into(), json!({"project_id": "x"}));
        old.extra.insert("guard".into(), json!(true));
        old.extra.insert("extra_field".into(), json!(1));
        let mut new = ProjectConfig::self_hosted("http://a:1", "k2");
        new.extra.insert("guard".into(), json!(false));
        keep_unknown_fields(&old, &mut new);
        assert_eq!(
            serde_json::to_value(&new.extra).unwrap(),
            json!({"branched_from": {"project_id": "x"}, "guard": false, "extra_field": 1})
        );
        let order: Vec<&str> = new.extra.keys().map(String::as_str).collect();
        assert_eq!(order, ["branched_from", "guard", "extra_field"]);
        assert_eq!(new.api_key.as_deref(), Some("k2"));
    }

    #[test]
    fn the_guard_carries_over_from_the_link_read_once_before_writing() {
        let mut old = ProjectConfig::self_hosted("http://a:1", "k1");
        old.extra.insert("branched_from".into(), json!("x"));
        old.extra.insert("guard".into(), json!(true));
        let other = || ProjectConfig::self_hosted("http://b:1", "k2");

        // Another project, no --guard: only the guard of the link it replaces carries over,
        // and that link is the one reported as replaced.
        let mut config = other();
        let replaced = relink(Some(old.clone()), &mut config, Guard::Keep);
        assert_eq!(replaced, Some(old.clone()));
        assert_eq!(
            serde_json::to_value(&config.extra).unwrap(),
            json!({"guard": true})
        );

        // --guard given: its value wins.
        let mut config = other();
        relink(Some(old.clone()), &mut config, Guard::Set(false));
        assert_eq!(config.extra.get("guard"), Some(&json!(false)));

        // `create`: the new project's link says nothing about the guard.
        let mut config = other();
        relink(Some(old.clone()), &mut config, Guard::AsIs);
        assert!(config.extra.is_empty(), "{:?}", config.extra);

        // Nothing here before: nothing to keep, nothing replaced.
        let mut config = other();
        assert_eq!(relink(None, &mut config, Guard::Keep), None);
        assert!(config.extra.is_empty());

        // The same backend: every unknown field stays and nothing is replaced.
        let mut config = ProjectConfig::self_hosted("HTTP://A:1/", "k3");
        assert_eq!(relink(Some(old), &mut config, Guard::Keep), None);
        assert_eq!(
            serde_json::to_value(&config.extra).unwrap(),
            json!({"branched_from": "x", "guard": true})
        );
    }

    #[test]
    fn several_organizations_and_no_terminal_name_org_id_and_list_them() {
        let orgs = [
            Org {
                id: "o1".into(),
                name: "Acme".into(),
            },
            Org {
                id: "o2".into(),
                name: "Personal".into(),
            },
        ];
        let err = several_orgs(
            prompt::needs_flag("--org-id", "you belong to several organizations"),
            &orgs,
        );
        assert_eq!(err.kind.exit_code(), 1);
        assert_eq!(
            err.message,
            "you belong to several organizations, and there is no terminal to ask on"
        );
        assert_eq!(
            err.hints,
            [
                "pass --org-id",
                "your organizations: Acme (o1), Personal (o2)"
            ]
        );
    }

    #[test]
    fn auth_without_a_template_is_ignored_with_a_warning_saying_why() {
        assert_eq!(
            ignored_auth(None, Some("better-auth"), "this link uses no template").as_deref(),
            Some(
                "--auth better-auth is ignored: --auth applies to templates only, and this link \
                 uses no template"
            )
        );
        assert_eq!(ignored_auth(None, None, "x"), None);
        assert_eq!(ignored_auth(Some("react"), Some("better-auth"), "x"), None);
    }

    #[test]
    fn the_link_answer_has_the_official_shape() {
        let config = ProjectConfig::self_hosted("http://h/", "ik_x");
        assert_eq!(
            linked_json(&config),
            json!({"success": true, "project": {"id": "fa4e0000-1234-5678-90ab-cd1234567890", "name": "oss-project", "region": "us-test"}})
        );
    }
}
