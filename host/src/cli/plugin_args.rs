//! A plugin's command description, turned into clap commands; parsed matches, turned back into the
//! checked arguments the plugin receives.

use std::path::Path;

use clap::{Arg, ArgAction, ArgMatches, Command};
use insforge_plugin_api::{ArgKind, ArgSpec, CommandSpec, Invocation, ValueType};
use serde_json::{Map, Value};

use crate::error::{CliError, Result};

/// Builds the clap command for a plugin's (sub)command, recursively.
pub fn to_clap(spec: &CommandSpec) -> Command {
    let mut cmd = Command::new(spec.name.clone())
        .about(spec.summary.clone())
        .hide(spec.hidden)
        .aliases(spec.aliases.clone());
    let long = long_about(spec);
    if !long.is_empty() {
        cmd = cmd.long_about(long);
    }
    if !spec.examples.is_empty() {
        let mut text = String::from("Examples:\n");
        for ex in &spec.examples {
            text.push_str(&format!("  # {}\n  {}\n\n", ex.description, ex.command));
        }
        cmd = cmd.after_help(text.trim_end().to_owned());
    }
    for arg in &spec.args {
        cmd = cmd.arg(to_clap_arg(arg));
    }
    if !spec.subcommands.is_empty() {
        cmd = cmd.subcommand_required(true).arg_required_else_help(true);
        for sub in &spec.subcommands {
            cmd = cmd.subcommand(to_clap(sub));
        }
    }
    cmd
}

fn long_about(spec: &CommandSpec) -> String {
    match &spec.long_help {
        Some(long) => format!("{}\n\n{}", spec.summary, long),
        None => String::new(),
    }
}

fn to_clap_arg(spec: &ArgSpec) -> Arg {
    let mut arg = Arg::new(spec.name.clone())
        .help(spec.help.clone())
        .hide(spec.hidden);
    match spec.kind {
        ArgKind::Positional => {
            arg = arg.value_name(
                spec.value_name
                    .clone()
                    .unwrap_or_else(|| spec.name.to_uppercase()),
            );
        }
        ArgKind::Option | ArgKind::Switch => {
            arg = arg.long(spec.name.clone()).aliases(spec.aliases.clone());
            if let Some(short) = spec.short {
                arg = arg.short(short);
            }
            if let Some(name) = &spec.value_name {
                arg = arg.value_name(name.clone());
            }
        }
    }
    arg = match (spec.kind, spec.repeatable) {
        (ArgKind::Switch, _) => arg.action(ArgAction::SetTrue),
        (_, true) => arg.action(ArgAction::Append),
        (_, false) => arg.action(ArgAction::Set),
    };
    if spec.kind != ArgKind::Switch {
        if spec.value_type == ValueType::Integer {
            let (min, max) = (spec.min.unwrap_or(i64::MIN), spec.max.unwrap_or(i64::MAX));
            arg = arg.value_parser(clap::value_parser!(i64).range(min..=max));
        }
        if !spec.allowed_values.is_empty() {
            arg = arg.value_parser(clap::builder::PossibleValuesParser::new(
                spec.allowed_values.clone(),
            ));
        }
        if let Some(default) = &spec.default {
            arg = arg.default_value(default.clone());
        }
        // Values such as `-` (stdin) or negative numbers are values, not flags.
        arg = arg.allow_hyphen_values(spec.kind == ArgKind::Positional);
    }
    if spec.required {
        arg = arg.required(true);
    }
    if !spec.required_unless.is_empty() {
        arg = arg.required_unless_present_any(spec.required_unless.clone());
    }
    if !spec.conflicts_with.is_empty() {
        arg = arg.conflicts_with_all(spec.conflicts_with.clone());
    }
    arg
}

/// Walks the matched subcommands down to the leaf; returns its path and matches.
pub fn leaf<'m>(root: &CommandSpec, matches: &'m ArgMatches) -> (Vec<String>, &'m ArgMatches) {
    let mut path = Vec::new();
    let mut current = matches;
    let mut spec = root;
    while let Some((name, sub)) = current.subcommand() {
        let Some(next) = spec.subcommands.iter().find(|c| c.name == name) else {
            break;
        };
        path.push(name.to_owned());
        spec = next;
        current = sub;
    }
    (path, current)
}

/// Collects and checks the arguments of the leaf command: files exist, JSON parses. Runs before
/// any check of login or link state and before any request.
pub fn invocation(
    spec: &CommandSpec,
    path: Vec<String>,
    matches: &ArgMatches,
    cwd: &Path,
    after_separator: bool,
) -> Result<Invocation> {
    let mut args = Map::new();
    for arg in &spec.args {
        let value = match (arg.kind, arg.repeatable) {
            (ArgKind::Switch, _) => Value::Bool(matches.get_flag(&arg.name)),
            (_, _) if arg.value_type == ValueType::Integer => {
                let values: Vec<Value> = matches
                    .get_many::<i64>(&arg.name)
                    .map(|v| v.map(|n| Value::from(*n)).collect())
                    .unwrap_or_default();
                collapse(values, arg.repeatable)
            }
            (_, repeatable) => {
                let values = matches
                    .get_many::<String>(&arg.name)
                    .map(|v| v.cloned().collect::<Vec<_>>())
                    .unwrap_or_default();
                for v in &values {
                    if arg.kind == ArgKind::Positional && !after_separator && looks_like_flag(v) {
                        return Err(CliError::usage(format!("unexpected argument '{v}' found"))
                            .with_hint(format!(
                            "to pass '{v}' as a value, put it after `--`; see --help for the flags"
                        )));
                    }
                    check_value(arg, v, cwd)?;
                }
                collapse(values.into_iter().map(Value::String).collect(), repeatable)
            }
        };
        args.insert(arg.name.clone(), value);
    }
    Ok(Invocation {
        command: path,
        args,
    })
}

fn collapse(mut values: Vec<Value>, repeatable: bool) -> Value {
    if repeatable {
        Value::Array(values)
    } else {
        values.pop().unwrap_or(Value::Null)
    }
}

fn flag_name(arg: &ArgSpec) -> String {
    match arg.kind {
        ArgKind::Positional => format!("<{}>", arg.name.to_uppercase()),
        _ => format!("--{}", arg.name),
    }
}

fn cannot_read(value: &str, err: &std::io::Error) -> CliError {
    let reason = match err.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    };
    CliError::usage(format!("cannot read {value}: {reason}"))
}

fn check_value(arg: &ArgSpec, value: &str, cwd: &Path) -> Result<()> {
    match arg.value_type {
        // An empty value means "no JSON" (e.g. `rpc --data ''` is a GET), not invalid JSON.
        ValueType::Json if value.trim().is_empty() => Ok(()),
        ValueType::Json => serde_json::from_str::<Value>(value).map(drop).map_err(|e| {
            CliError::usage(format!("{} is not valid JSON: {e}", flag_name(arg)))
                .with_hint("quote the JSON for your shell, e.g. --data '{\"key\": 1}'")
        }),
        ValueType::InputFile => {
            if value == "-" && arg.allow_stdin {
                return Ok(());
            }
            let path = cwd.join(value);
            match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => std::fs::File::open(&path)
                    .map(drop)
                    .map_err(|e| cannot_read(value, &e)),
                Ok(_) => Err(CliError::usage(format!(
                    "{value} is not a file ({})",
                    flag_name(arg)
                ))),
                Err(e) => Err(cannot_read(value, &e)),
            }
        }
        ValueType::OutputFile => {
            if value == "-" && arg.allow_stdout {
                return Ok(());
            }
            let path = cwd.join(value);
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(cwd);
            if path.is_dir() {
                Err(CliError::usage(format!(
                    "{value} is a directory ({})",
                    flag_name(arg)
                )))
            } else if parent.is_dir() {
                Ok(())
            } else {
                Err(CliError::usage(format!(
                    "cannot write {value} ({}): directory {} does not exist",
                    flag_name(arg),
                    parent.display()
                )))
            }
        }
        ValueType::Directory => {
            if cwd.join(value).is_dir() {
                Ok(())
            } else {
                Err(CliError::usage(format!(
                    "{value} is not a directory ({})",
                    flag_name(arg)
                )))
            }
        }
        _ => Ok(()),
    }
}

/// Positionals take values that start with `-` (SQL may begin with a `-- comment`), but one
/// that reads like a flag (`--josn`, `-x`: a dash, then a letter or dash, and no spaces) is a
/// mistyped flag, never a value to send.
fn looks_like_flag(value: &str) -> bool {
    let mut chars = value.chars();
    chars.next() == Some('-')
        && chars
            .next()
            .is_some_and(|c| c == '-' || c.is_ascii_alphabetic())
        && !value.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> CommandSpec {
        CommandSpec::new("db", "Database")
            .subcommand(
                CommandSpec::new("query", "Run SQL")
                    .arg(ArgSpec::positional("sql", "SQL").required_unless("file"))
                    .arg(
                        ArgSpec::option("file", "File")
                            .value_type(ValueType::InputFile)
                            .allow_stdin()
                            .conflicts_with("sql"),
                    )
                    .arg(ArgSpec::option("data", "JSON").value_type(ValueType::Json))
                    .arg(ArgSpec::option("limit", "N").value_type(ValueType::Integer))
                    .arg(ArgSpec::switch("unrestricted", "root")),
            )
            .subcommand(
                CommandSpec::new("export", "Dump")
                    .arg(
                        ArgSpec::option("output", "File")
                            .value_type(ValueType::OutputFile)
                            .allow_stdout(),
                    )
                    .arg(ArgSpec::option("log", "File").value_type(ValueType::OutputFile)),
            )
    }

    fn parse(args: &[&str]) -> Result<Invocation> {
        parse_in(Path::new("."), args)
    }

    fn parse_in(cwd: &Path, args: &[&str]) -> Result<Invocation> {
        let s = spec();
        let m = to_clap(&s)
            .try_get_matches_from(std::iter::once("db").chain(args.iter().copied()))
            .map_err(|e| CliError::usage(e.to_string()))?;
        let (path, leaf_m) = leaf(&s, &m);
        let separator = args.contains(&"--");
        invocation(s.find(&path).unwrap(), path, leaf_m, cwd, separator)
    }

    #[test]
    fn values_arrive_typed() {
        let inv = parse(&["query", "select 1;", "--limit", "5", "--unrestricted"]).unwrap();
        assert_eq!(inv.command, ["query"]);
        assert_eq!(inv.str("sql"), Some("select 1;"));
        assert_eq!(inv.int("limit"), Some(5));
        assert!(inv.flag("unrestricted"));
        assert_eq!(inv.args["file"], Value::Null);
    }

    #[test]
    fn invalid_json_and_missing_files_are_usage_errors() {
        let e = parse(&["query", "x", "--data", "{nope"]).unwrap_err();
        assert!(
            e.message.contains("--data is not valid JSON"),
            "{}",
            e.message
        );
        let e = parse(&["query", "--file", "/definitely/not/here.sql"]).unwrap_err();
        assert!(e.message.contains("cannot read /definitely/not/here.sql"));
        assert!(parse(&["query", "--file", "-"]).is_ok());
    }

    #[test]
    fn dash_passes_as_is_for_an_output_that_allows_stdout_and_is_checked_as_a_file_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        // A directory named `-`: what the output file check refuses.
        std::fs::create_dir(dir.path().join("-")).unwrap();

        let inv = parse_in(dir.path(), &["export", "--output", "-"]).unwrap();
        assert_eq!(inv.str("output"), Some("-"));

        let e = parse_in(dir.path(), &["export", "--log", "-"]).unwrap_err();
        assert_eq!(e.message, "- is a directory (--log)");
        // Other values of an output that allows stdout are still checked.
        let e = parse_in(dir.path(), &["export", "--output", "no/such/dir/x.sql"]).unwrap_err();
        assert!(
            e.message
                .starts_with("cannot write no/such/dir/x.sql (--output)"),
            "{}",
            e.message
        );
        let e = parse_in(dir.path(), &["export", "--output", "."]).unwrap_err();
        assert_eq!(e.message, ". is a directory (--output)");
    }

    #[test]
    fn a_mistyped_flag_is_not_taken_for_a_value() {
        let e = parse(&["query", "--josn"]).unwrap_err();
        assert_eq!(e.message, "unexpected argument '--josn' found");
        assert!(parse(&["query", "-x"]).is_err());
        let inv = parse(&["query", "--", "--josn"]).unwrap();
        assert_eq!(inv.str("sql"), Some("--josn"));
        assert!(looks_like_flag("--unrestrcted"));
        assert!(!looks_like_flag("-"));
        assert!(!looks_like_flag("-1"));
        assert!(!looks_like_flag("-- comment\nselect 1"));
    }

    #[test]
    fn sql_that_starts_with_a_dash_is_a_value() {
        let inv = parse(&["query", "-- comment\nselect 1"]).unwrap();
        assert_eq!(inv.str("sql"), Some("-- comment\nselect 1"));
    }
}
