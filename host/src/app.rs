//! One run of `insforge`: parse, check, dispatch, and turn the outcome into an exit code.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::error::ErrorKind as ClapErrorKind;
use insforge_plugin_api::{HostContext, Needs, ProjectInfo, Request};
use serde_json::Value;

use crate::api::{Answer, Backend, Client, Interrupt, SessionFactory};
use crate::auth::{session::DEFAULT_CLIENT_ID, Session};
use crate::cli::{self, plugin_args, Globals, Prescan};
use crate::config::project::{self, Project, ProjectConfig};
use crate::config::user::{Settings, UserFiles, DEFAULT_PLATFORM_URL};
use crate::error::{CliError, Kind, Result};
use crate::output::Output;
use crate::plugins::{self, services::Services, Registry};

/// What every command can use. The network parts are built on first use, so commands that need
/// no network never start a runtime or read the login.
pub struct Env<'a> {
    pub output: &'a Output,
    pub globals: Globals,
    pub cwd: PathBuf,
    /// The nearest linked project at or above `cwd`.
    pub project: Option<Project>,
    /// Why the nearest link could not be read, if it could not: reported by the commands that
    /// need the link, so `link` can still replace a broken one.
    pub project_error: Option<CliError>,
    net: OnceCell<Net>,
    target: OnceCell<ProjectConfig>,
}

/// The async runtime and the HTTP client of one run.
pub struct Net {
    pub runtime: tokio::runtime::Runtime,
    pub client: Client,
}

impl<'a> Env<'a> {
    pub fn new(
        output: &'a Output,
        globals: Globals,
        cwd: PathBuf,
        project: std::result::Result<Option<Project>, CliError>,
    ) -> Self {
        let (project, project_error) = match project {
            Ok(project) => (project, None),
            Err(err) => (None, Some(err)),
        };
        Env {
            output,
            globals,
            cwd,
            project,
            project_error,
            net: OnceCell::new(),
            target: OnceCell::new(),
        }
    }

    pub fn user_files(&self) -> Result<UserFiles> {
        UserFiles::locate()
    }

    /// The runtime and client, built once. `client_id` overrides the OAuth client for `login`.
    /// Neither reads anything from disk: the login is made when first needed.
    pub fn net_with(&self, client_id: Option<&str>) -> Result<&Net> {
        if let Some(net) = self.net.get() {
            return Ok(net);
        }
        let api_url = self.globals.api_url.clone();
        let client_id = client_id.map(str::to_owned);
        let make_session: SessionFactory =
            Box::new(move || make_session(api_url.as_deref(), client_id.as_deref()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| CliError::general(format!("cannot start the async runtime: {e}")))?;
        let interrupt = Arc::new(Interrupt::default());
        watch_ctrl_c(&runtime, interrupt.clone());
        let client = Client::new(make_session, interrupt);
        Ok(self.net.get_or_init(|| Net { runtime, client }))
    }

    pub fn net(&self) -> Result<&Net> {
        self.net_with(None)
    }

    pub fn session(&self) -> Result<&Session> {
        self.net()?.client.session()
    }

    /// Sends a request (platform requests carry the login, backend requests the project key)
    /// and returns the answer whatever its status.
    pub fn send(&self, request: Request) -> Result<Answer> {
        self.send_raw(&request.into_raw())
    }

    fn send_raw(&self, raw: &insforge_plugin_api::abi::HttpRequest) -> Result<Answer> {
        if raw.target == insforge_plugin_api::abi::Target::BACKEND {
            self.backend()?;
        }
        let net = self.net()?;
        let answer = net.runtime.block_on(net.client.send(raw))?;
        if net.client.interrupt().is_set() {
            return Err(CliError::interrupted());
        }
        Ok(answer)
    }

    /// Sends a request and parses its JSON answer; error statuses become errors.
    pub fn json(&self, request: Request) -> Result<Value> {
        let raw = request.into_raw();
        self.send_raw(&raw)?.into_json(raw.target)
    }

    /// The project commands act on: `INSFORGE_PROJECT_ID` (a cloud project, through the
    /// login), else the nearest link.
    pub fn target_project(&self) -> Result<&ProjectConfig> {
        if let Some(config) = self.target.get() {
            return Ok(config);
        }
        let config = match project_id_from_env() {
            Some(id) => match &self.project {
                Some(p) if p.config.project_id == id && p.config.api_key.is_some() => {
                    p.config.clone()
                }
                _ => self.cloud_project(&id)?,
            },
            None => self
                .linked_project()?
                .map(|p| p.config.clone())
                .ok_or_else(CliError::not_linked)?,
        };
        Ok(self.target.get_or_init(|| config))
    }

    /// The nearest link, or the reason it could not be read.
    pub fn linked_project(&self) -> Result<Option<&Project>> {
        match &self.project_error {
            Some(err) => Err(err.clone()),
            None => Ok(self.project.as_ref()),
        }
    }

    /// A cloud project's link, made in memory from the platform's description and key.
    pub fn cloud_project(&self, project_id: &str) -> Result<ProjectConfig> {
        self.session()?.require_login()?;
        crate::commands::projects::fetch_link(self, project_id)
    }

    /// The backend of the target project; the client sends backend requests there.
    pub fn backend(&self) -> Result<Backend> {
        if let Some(backend) = self.net.get().and_then(|n| n.client.backend()) {
            return Ok(backend.clone());
        }
        // The link first: an unlinked directory exits 3 whatever state ~/.insforge is in.
        let backend = backend_of(self.target_project()?)?;
        let net = self.net()?;
        net.client.set_backend(backend.clone());
        Ok(backend)
    }
}

/// The run's login: the user's files, the platform's URL (`--api-url`, then
/// `INSFORGE_API_URL`, then `config.json`, then the official default) and the OAuth client
/// (`--client-id`, then `config.json`, then the official one). `config.json` is read only when
/// one of them is not given otherwise.
fn make_session(api_url: Option<&str>, client_id: Option<&str>) -> Result<Session> {
    let files = UserFiles::locate()?;
    let from_env = std::env::var("INSFORGE_API_URL")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let given_url = api_url.map(str::to_owned).or(from_env);
    let settings = if given_url.is_none() || client_id.is_none() {
        files.load_settings()?
    } else {
        Settings::default()
    };
    let url = match given_url {
        Some(url) => url.trim().to_owned(),
        None => settings
            .platform_api_url
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_PLATFORM_URL.to_owned()),
    };
    let parsed = reqwest::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    if parsed.is_none() {
        return Err(
            CliError::usage(format!("the platform URL {url:?} is not an http(s) URL")).with_hint(
                "check --api-url, INSFORGE_API_URL and platform_api_url in ~/.insforge/config.json",
            ),
        );
    }
    let client_id = client_id
        .map(str::to_owned)
        .or(settings.oauth_client_id)
        .unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned());
    Ok(Session::new(
        files,
        url.trim_end_matches('/').to_owned(),
        client_id,
    ))
}

/// `INSFORGE_PROJECT_ID`, when set and not empty.
pub fn project_id_from_env() -> Option<String> {
    std::env::var("INSFORGE_PROJECT_ID")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Runs the command line `args`; returns the exit code.
pub fn main(args: Vec<OsString>) -> std::process::ExitCode {
    let scan = cli::prescan(&args);
    init_logging(scan.verbose.max(u8::from(debug_env())));
    let output = Output::new(scan.json, scan.no_color);
    match run(args, &scan, &output) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            output.error(&err);
            err.exit_code()
        }
    }
}

fn run(args: Vec<OsString>, scan: &Prescan, output: &Output) -> Result<()> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::general(format!("cannot read the working directory: {e}")))?;
    let project = project::find(&cwd);
    let root = project
        .as_ref()
        .ok()
        .and_then(|p| p.as_ref())
        .map(|p| p.root.clone());
    let registry = Registry::discover(root.as_deref());

    // Load only the plugin whose command runs; the full help needs every plugin's summary.
    let command = scan.command.as_deref();
    let loaded = match command {
        Some(name) if registry.has(name) => Some((name.to_owned(), registry.load(name)?)),
        _ => None,
    };
    if let Some(name) = command {
        if loaded.is_none() && plugins::discovery::FEATURE_PLUGINS.contains(&name) {
            return Err(missing_plugin(name, &registry));
        }
    }
    let specs = match (&loaded, command) {
        (Some((_, l)), _) => vec![l.spec.command.clone()],
        (None, None | Some("help")) => registry.all_specs(),
        (None, Some(_)) => Vec::new(),
    };

    let matches = match cli::root(&specs).try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => return clap_outcome(e, output),
    };
    let (name, sub) = matches.subcommand().expect("clap requires a subcommand");
    let mut globals = Globals::from_matches(sub);
    globals.separator = scan.separator;
    let env = Env::new(output, globals, cwd, project);

    match crate::commands::dispatch(&env, name, sub) {
        Some(outcome) => outcome,
        None => {
            let (name, plugin) = loaded.expect("a plugin command was loaded before parsing");
            run_plugin(&env, &name, &plugin, sub)
        }
    }
}

/// A feature command whose plugin is not installed: say so, rather than "unrecognized".
fn missing_plugin(name: &str, registry: &Registry) -> CliError {
    let mut found = registry.names();
    found.sort();
    let hint = if found.is_empty() {
        "no plugins were found; see `insforge plugin list`".to_owned()
    } else {
        format!(
            "plugins found: {}; see `insforge plugin list` for where insforge looks",
            found.join(", ")
        )
    };
    CliError::plugin(format!(
        "the `{name}` commands come from the {name} plugin, which is not installed"
    ))
    .with_hint(hint)
}

/// clap's help and version go to stdout with exit 0; usage errors to stderr with exit 1 (clap's
/// own code 2 would read as "not authenticated").
fn clap_outcome(e: clap::Error, output: &Output) -> Result<()> {
    match e.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
            output.stdout_bytes(e.render().to_string().as_bytes())
        }
        _ => {
            let rendered = e.render().to_string();
            output.stderr_text(&rendered);
            let mut err = CliError::usage(usage_summary(&rendered));
            err.shown = true;
            Err(err)
        }
    }
}

/// clap's error in one line for the `--json` error: its first paragraph (the message and the
/// arguments it names), without the usage and help lines that follow.
fn usage_summary(rendered: &str) -> String {
    let paragraph: Vec<&str> = rendered
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let text = paragraph.join(" ");
    let text = text.trim_start_matches("error: ").trim();
    if text.is_empty() {
        "invalid usage".to_owned()
    } else {
        text.to_owned()
    }
}

fn run_plugin(
    env: &Env<'_>,
    name: &str,
    plugin: &plugins::loader::Loaded,
    matches: &clap::ArgMatches,
) -> Result<()> {
    let (path, leaf) = plugin_args::leaf(&plugin.spec.command, matches);
    let spec = plugin
        .spec
        .command
        .find(&path)
        .expect("clap only matches described commands");
    let invocation = plugin_args::invocation(spec, path, leaf, &env.cwd, env.globals.separator)?;

    match spec.needs {
        Needs::Project => {
            env.backend()?;
        }
        Needs::Login => env.session()?.require_login()?,
        Needs::Nothing => {
            if let Some(p) = &env.project {
                if let Ok(backend) = backend_of(&p.config) {
                    env.net()?.client.set_backend(backend);
                }
            }
        }
    }
    let net = env.net()?;
    let services = Services::new(
        &net.runtime,
        &net.client,
        env.output,
        context_json(env),
        env.globals.yes,
    );
    let outcome = plugins::run(name, plugin, &invocation, &services);
    if outcome.is_ok() && net.client.interrupt().is_set() {
        return Err(CliError::interrupted());
    }
    outcome
}

fn backend_of(config: &ProjectConfig) -> Result<Backend> {
    let api_key = config
        .api_key
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            CliError::new(Kind::NotAuthenticated, "the project link has no API key")
                .with_hint("link again with `insforge link`")
        })?;
    if config.oss_host.is_empty() {
        return Err(
            CliError::general("the project link has no backend URL (oss_host)")
                .with_hint("link again with `insforge link`"),
        );
    }
    Ok(Backend {
        // A hand-edited link may end in `/`; paths start with one.
        base_url: config.oss_host.trim_end_matches('/').to_owned(),
        api_key,
    })
}

fn context_json(env: &Env<'_>) -> String {
    let target = env.target.get().or(env.project.as_ref().map(|p| &p.config));
    let context = HostContext {
        json: env.globals.json,
        yes: env.globals.yes,
        verbose: env.globals.verbose,
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        cwd: env.cwd.clone(),
        project: target.map(|c| ProjectInfo {
            project_id: c.project_id.clone(),
            project_name: c.project_name.clone(),
            org_id: c.org_id.clone(),
            region: c.region.clone(),
            oss_host: c.oss_host.clone(),
            self_hosted: c.is_self_hosted(),
        }),
        project_root: env.project.as_ref().map(|p| p.root.clone()),
        host_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    serde_json::to_string(&context).expect("the context always serialises")
}

/// The first Ctrl-C asks the running command to stop (requests are abandoned, loops see
/// `interrupted()`); a second one exits at once.
fn watch_ctrl_c(runtime: &tokio::runtime::Runtime, interrupt: Arc<Interrupt>) {
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            if crate::prompt::active() {
                crate::prompt::restore_terminal();
                std::process::exit(130);
            }
            interrupt.trigger();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

fn debug_env() -> bool {
    std::env::var_os("INSFORGE_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `-v` (or `INSFORGE_DEBUG=1`) logs requests, `-vv` adds response headers, `-vvv` adds the
/// HTTP and TLS libraries' logs; `INSFORGE_LOG` takes a full filter.
fn init_logging(verbosity: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("INSFORGE_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::new(f),
        _ => match verbosity {
            0 => return,
            1 => EnvFilter::new("insforge=debug"),
            2 => EnvFilter::new("insforge=trace"),
            // Libraries' own logs, at levels that never show header values.
            _ => EnvFilter::new("insforge=trace,reqwest=debug,hyper_util=debug,rustls=debug"),
        },
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_summary_keeps_the_arguments_it_names() {
        let rendered = "error: the following required arguments were not provided:\n  <SQL>\n\n\
                        Usage: insforge db query <SQL>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_summary(rendered),
            "the following required arguments were not provided: <SQL>"
        );
        assert_eq!(
            usage_summary("error: unexpected argument '--bogus' found\n\nUsage: x\n"),
            "unexpected argument '--bogus' found"
        );
        assert_eq!(usage_summary(""), "invalid usage");
    }
}
