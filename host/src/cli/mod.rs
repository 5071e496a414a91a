//! The command line: global flags, the core commands, and each plugin's commands, built into one
//! clap command.

pub mod plugin_args;

use std::ffi::OsString;

use clap::{Arg, ArgAction, ArgMatches, Command};
use insforge_plugin_api::CommandSpec;

/// Flags that apply to every command, accepted before or after the subcommand.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub json: bool,
    pub yes: bool,
    pub api_url: Option<String>,
    pub verbose: u8,
    /// Whether `--` appeared: what follows it is values, even when it starts with `-`.
    pub separator: bool,
}

impl Globals {
    pub fn from_matches(m: &ArgMatches) -> Self {
        Globals {
            json: m.get_flag("json"),
            yes: m.get_flag("yes"),
            api_url: m.get_one::<String>("api-url").cloned(),
            verbose: m.get_count("verbose"),
            separator: false,
        }
    }
}

/// What can be known from the raw arguments before anything is parsed or loaded: which command
/// runs (so only its plugin is loaded) and the flags that shape error output.
#[derive(Debug, Clone, Default)]
pub struct Prescan {
    pub command: Option<String>,
    pub json: bool,
    pub no_color: bool,
    /// How many `-v`: 1 logs requests, 2 adds response headers, 3 logs every library too.
    pub verbose: u8,
    /// Whether a `--` separator appeared.
    pub separator: bool,
}

pub fn prescan(args: &[OsString]) -> Prescan {
    let mut scan = Prescan::default();
    let mut iter = args.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        match arg {
            "--" => {
                scan.separator = true;
                break;
            }
            "--json" => scan.json = true,
            "--no-color" => scan.no_color = true,
            "--api-url" => {
                iter.next();
            }
            a if a.starts_with("--") => {}
            a if a.starts_with('-') && a.len() > 1 => {
                if a[1..].chars().all(|c| c == 'v') {
                    scan.verbose = scan
                        .verbose
                        .saturating_add(u8::try_from(a.len() - 1).unwrap_or(u8::MAX));
                }
            }
            a => {
                if scan.command.is_none() {
                    scan.command = Some(a.to_owned());
                }
            }
        }
    }
    scan
}

const GLOBAL: &str = "Global options";

const ABOUT: &str = "Manage an InsForge project from the terminal";

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 error, 2 not authenticated, 3 not linked, 4 not found,
5 permission denied, 6 plugin failure, 130 interrupted.";

/// The root command with the core commands and the given plugin commands.
pub fn root(plugins: &[CommandSpec]) -> Command {
    let mut cmd = Command::new("insforge")
        .version(env!("CARGO_PKG_VERSION"))
        .about(ABOUT)
        .after_help(AFTER_HELP)
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(
            Arg::new("json")
                .help_heading(GLOBAL)
                // Given twice (a wrapper adding `--json` to a command that has it) is fine.
                .overrides_with("json")
                .long("json")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("Print the result as one JSON document; errors as a JSON line on stderr"),
        )
        .arg(
            Arg::new("yes")
                .help_heading(GLOBAL)
                .overrides_with("yes")
                .short('y')
                .long("yes")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("Answer yes to confirmation prompts"),
        )
        .arg(
            Arg::new("api-url")
                .help_heading(GLOBAL)
                .overrides_with("api-url")
                .long("api-url")
                .global(true)
                .value_name("URL")
                .help("The cloud platform's URL (overrides INSFORGE_API_URL)"),
        )
        .arg(
            Arg::new("verbose")
                .help_heading(GLOBAL)
                .short('v')
                .long("verbose")
                .global(true)
                .action(ArgAction::Count)
                .help("Log requests to stderr (-vv adds response headers, -vvv connection logs); secrets are never shown"),
        )
        .arg(
            Arg::new("no-color")
                .help_heading(GLOBAL)
                .overrides_with("no-color")
                .long("no-color")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("Never use colour"),
        )
        .subcommands(crate::commands::all());
    for spec in plugins {
        cmd = cmd.subcommand(plugin_args::to_clap(spec));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(args: &[&str]) -> Prescan {
        let v: Vec<OsString> = std::iter::once("insforge")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        prescan(&v)
    }

    #[test]
    fn prescan_finds_the_command_after_global_flags() {
        let s = scan(&["--api-url", "http://x", "--json", "db", "query", "select 1"]);
        assert_eq!(s.command.as_deref(), Some("db"));
        assert!(s.json);
        assert_eq!(scan(&["-vv", "db"]).command.as_deref(), Some("db"));
        assert_eq!(scan(&["-vv", "db"]).verbose, 2);
        assert_eq!(scan(&["-v", "db", "-v"]).verbose, 2);
        assert_eq!(scan(&["--", "db"]).command, None);
    }

    #[test]
    fn global_flags_may_be_repeated() {
        let m = root(&[])
            .try_get_matches_from(["insforge", "--json", "current", "--json", "-y", "-y"])
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        assert!(Globals::from_matches(sub).json);
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let m = root(&[])
            .try_get_matches_from(["insforge", "current", "--json", "-y"])
            .unwrap();
        let (_, sub) = m.subcommand().unwrap();
        let g = Globals::from_matches(sub);
        assert!(g.json && g.yes);
    }
}
