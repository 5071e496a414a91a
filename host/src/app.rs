//! One run of `insforge`: parse, check, dispatch, and turn the outcome into an exit code.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use clap::error::ErrorKind as ClapErrorKind;
use insforge_plugin_api::{HostContext, Needs, ProjectInfo};

use crate::api::{Backend, Client, Interrupt};
use crate::cli::{self, plugin_args, Globals, Prescan};
use crate::config::project::{self, Project};
use crate::error::{CliError, Kind, Result};
use crate::output::Output;
use crate::plugins::{self, services::Services, Registry};

const DEFAULT_PLATFORM_URL: &str = "https://api.insforge.dev";

/// What every command can use.
pub struct Env<'a> {
    pub output: &'a Output,
    pub globals: Globals,
    pub cwd: PathBuf,
    pub project: Option<Project>,
}

/// Runs the command line `args`; returns the exit code.
pub fn main(args: Vec<OsString>) -> std::process::ExitCode {
    let scan = cli::prescan(&args);
    init_logging(scan.verbose || debug_env());
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
    let project = project::find(&cwd)?;
    let registry = Registry::discover(project.as_ref().map(|p| p.root.as_path()));

    // Load only the plugin whose command runs; the full help needs every plugin's summary.
    let command = scan.command.as_deref();
    let loaded = match command {
        Some(name) if registry.has(name) => Some((name.to_owned(), registry.load(name)?)),
        _ => None,
    };
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
    let globals = Globals::from_matches(sub);
    let env = Env {
        output,
        globals,
        cwd,
        project,
    };

    match name {
        "link" => crate::commands::link::run(&env, sub),
        "current" => crate::commands::current::run(&env),
        "plugin" => crate::commands::plugin::run(&env, sub),
        _ => {
            let (name, plugin) = loaded.expect("a plugin command was loaded before parsing");
            run_plugin(&env, &name, &plugin, sub)
        }
    }
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
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid usage")
                .trim_start_matches("error: ")
                .to_owned();
            let mut err = CliError::usage(first);
            err.shown = true;
            Err(err)
        }
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
    let invocation = plugin_args::invocation(spec, path, leaf, &env.cwd)?;

    let backend = match spec.needs {
        Needs::Project => {
            let project = env.project.as_ref().ok_or_else(CliError::not_linked)?;
            Some(backend_of(project)?)
        }
        Needs::Login => {
            return Err(
                CliError::new(Kind::NotAuthenticated, "you are not logged in")
                    .with_hint("run `insforge login`"),
            )
        }
        Needs::Nothing => env.project.as_ref().and_then(|p| backend_of(p).ok()),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::general(format!("cannot start the async runtime: {e}")))?;
    let interrupt = Arc::new(Interrupt::default());
    watch_ctrl_c(&runtime, interrupt.clone());
    let client = Client::new(backend, platform_url(&env.globals), interrupt);
    let services = Services::new(
        &runtime,
        &client,
        env.output,
        context_json(env),
        env.globals.yes,
    );
    let outcome = plugins::run(name, plugin, &invocation, &services);
    if outcome.is_ok() && client.interrupt().is_set() {
        return Err(CliError::new(Kind::Interrupted, "interrupted"));
    }
    outcome
}

fn backend_of(project: &Project) -> Result<Backend> {
    let api_key = project
        .config
        .api_key
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            CliError::new(Kind::NotAuthenticated, "the project link has no API key")
                .with_hint("link again with `insforge link`")
        })?;
    if project.config.oss_host.is_empty() {
        return Err(
            CliError::general("the project link has no backend URL (oss_host)")
                .with_hint("link again with `insforge link`"),
        );
    }
    Ok(Backend {
        base_url: project.config.oss_host.clone(),
        api_key,
    })
}

/// `--api-url` wins over `INSFORGE_API_URL`, which wins over the default.
fn platform_url(globals: &Globals) -> String {
    globals
        .api_url
        .clone()
        .or_else(|| {
            std::env::var("INSFORGE_API_URL")
                .ok()
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_PLATFORM_URL.to_owned())
}

fn context_json(env: &Env<'_>) -> String {
    let project = env.project.as_ref();
    let context = HostContext {
        json: env.globals.json,
        yes: env.globals.yes,
        verbose: env.globals.verbose,
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        cwd: env.cwd.clone(),
        project: project.map(|p| ProjectInfo {
            project_id: p.config.project_id.clone(),
            project_name: p.config.project_name.clone(),
            org_id: p.config.org_id.clone(),
            region: p.config.region.clone(),
            oss_host: p.config.oss_host.clone(),
            self_hosted: p.config.is_self_hosted(),
        }),
        project_root: project.map(|p| p.root.clone()),
        host_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    serde_json::to_string(&context).expect("the context always serialises")
}

/// The first Ctrl-C asks the running command to stop (requests are abandoned, loops see
/// `interrupted()`); a second one exits at once.
fn watch_ctrl_c(runtime: &tokio::runtime::Runtime, interrupt: Arc<Interrupt>) {
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
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

/// `-v` (or `INSFORGE_DEBUG=1`) logs requests; `INSFORGE_LOG` takes a full filter.
fn init_logging(verbose: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("INSFORGE_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::new(f),
        _ if verbose => EnvFilter::new("insforge=debug"),
        _ => return,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .try_init();
}
