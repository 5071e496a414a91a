//! `insforge-sandbox`: a fake InsForge project backend for tests, with real PostgreSQL
//! (`DATABASE_URL`) behind its database routes, and a fake cloud platform on the same port. Prints `listening on <url>` as its only
//! line on stdout once the port is bound; logs go to stderr (`INSFORGE_SANDBOX_LOG` sets
//! the filter). Stops on SIGINT or SIGTERM.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use insforge_tests::sandbox::{self, faults::parse_faults, PlatformOrg, SandboxConfig};

/// A fake InsForge backend for tests (see docs/sandbox.md).
#[derive(Debug, Parser)]
#[command(name = "insforge-sandbox", version)]
struct Args {
    /// Port to listen on, on 127.0.0.1 only (0 picks a free one).
    #[arg(long)]
    port: u16,

    /// The project API key the admin routes accept.
    #[arg(long)]
    api_key: String,

    /// Where storage keeps objects (default: a fresh temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,

    /// A JSON file with an array of faults to script from the start.
    #[arg(long)]
    faults: Option<PathBuf>,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, default_value_t = sandbox::DEFAULT_MAX_UPLOAD)]
    max_upload: u64,

    /// Platform: milliseconds a created project stays `creating` before it is `active`.
    #[arg(long, default_value_t = 1000)]
    project_ready_ms: u64,

    /// Platform: the device flow's polling interval, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    device_interval_ms: u64,

    /// Platform: how long a device code stays valid, in seconds.
    #[arg(long, default_value_t = 600)]
    device_expiry_secs: u64,

    /// Platform: seed only the first organisation (Acme Labs and its two projects).
    #[arg(long, conflicts_with = "platform_orgs")]
    single_org: bool,

    /// Platform: a JSON file with the organisations (and projects) to seed instead.
    #[arg(long)]
    platform_orgs: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("INSFORGE_SANDBOX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(std::io::stderr(), "insforge-sandbox: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let mut config = SandboxConfig::new(args.api_key)
        .with_port(args.port)
        .with_max_upload(args.max_upload)
        .with_project_ready_delay(Duration::from_millis(args.project_ready_ms))
        .with_device_interval(Duration::from_millis(args.device_interval_ms))
        .with_device_expiry(Duration::from_secs(args.device_expiry_secs));
    if args.single_org {
        config = config.with_single_org();
    }
    if let Some(path) = args.platform_orgs {
        let text = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let orgs: Vec<PlatformOrg> =
            serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        config = config.with_platform_orgs(orgs);
    }
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => config = config.with_database_url(url),
        _ => tracing::warn!("DATABASE_URL is not set: the database routes will answer 500"),
    }
    if let Some(dir) = args.data_dir {
        config = config.with_data_dir(dir);
    }
    if let Some(path) = args.faults {
        let text = std::fs::read_to_string(&path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let faults = parse_faults(&text).map_err(|err| format!("{}: {err}", path.display()))?;
        config = config.with_faults(faults);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| err.to_string())?;
    runtime
        .block_on(sandbox::run(config, announce))
        .map_err(|err| format!("cannot start: {err}"))
}

/// The one line on stdout, which callers wait for.
#[allow(clippy::print_stdout)]
fn announce(url: &str) {
    println!("listening on {url}");
    let _ = std::io::stdout().flush();
}
