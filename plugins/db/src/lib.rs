//! The `db` plugin: run SQL against the linked project's PostgreSQL, list its schema objects,
//! call database functions, and export or import the database.
//!
//! This file holds what the host needs without running any command (the command descriptions)
//! and the dispatch to one module per command or group of commands. Every command talks to the
//! project backend only, so every command needs a linked project.

use insforge_plugin_api::prelude::*;

mod export;
mod files;
mod import;
mod listings;
mod query;
mod rpc;
#[cfg(test)]
mod testhost;
#[cfg(test)]
mod tests;

use listings::Listing;

/// The `db` plugin.
pub struct Db;

impl Plugin for Db {
    const NAME: &'static str = "db";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn describe() -> PluginSpec {
        PluginSpec::new(Self::VERSION, command_spec())
    }

    fn run(cx: &mut Context<'_>, invocation: &Invocation) -> Result<()> {
        match invocation.command_path().as_str() {
            "query" => query::run(cx, invocation),
            "tables" => listings::run(cx, Listing::Tables),
            "indexes" => listings::run(cx, Listing::Indexes),
            "policies" => listings::run(cx, Listing::Policies),
            "triggers" => listings::run(cx, Listing::Triggers),
            "functions" => listings::run(cx, Listing::Functions),
            "rpc" => rpc::run(cx, invocation),
            "export" => export::run(cx, invocation),
            "import" => import::run(cx, invocation),
            // The host only dispatches commands we described, so this means host and plugin
            // disagree about the spec: a plugin-side failure rather than a user mistake.
            other => Err(Error::new(
                ErrorKind::Plugin,
                format!("the db plugin has no command `{other}`"),
            )),
        }
    }
}

insforge_plugin_api::export_plugin!(Db);

/// The whole `db` command tree.
fn command_spec() -> CommandSpec {
    CommandSpec::new("db", "Query and manage the project's PostgreSQL database")
        .long_help(
            "Runs SQL, lists tables, indexes, row-level security policies, triggers and \
             functions, calls database functions through the REST layer, and exports or \
             imports the database of the linked project.",
        )
        .subcommand(query_spec())
        .subcommand(listing_spec(
            "tables",
            "List the tables in the public schema",
            "insforge db tables",
        ))
        .subcommand(listing_spec(
            "indexes",
            "List the indexes of the public schema",
            "insforge db indexes",
        ))
        .subcommand(listing_spec(
            "policies",
            "List the row-level security policies",
            "insforge db policies",
        ))
        .subcommand(listing_spec(
            "triggers",
            "List the triggers of the public schema",
            "insforge db triggers",
        ))
        .subcommand(listing_spec(
            "functions",
            "List the database functions of the public schema",
            "insforge db functions",
        ))
        .subcommand(rpc_spec())
        .subcommand(export_spec())
        .subcommand(import_spec())
}

fn query_spec() -> CommandSpec {
    CommandSpec::new("query", "Run SQL against the database")
        .needs(Needs::Project)
        .long_help(
            "Sends the SQL exactly as given (several statements are allowed) and shows the rows \
             it returns as a table. Statements run as the project admin; --unrestricted runs \
             them as the database owner instead, which can also reach the auth schema. The \
             backend refuses transaction control, role changes and SQL it cannot parse. With \
             --json the backend's answer is printed as it is: rows, rowCount and fields.",
        )
        .arg(
            ArgSpec::positional("sql", "The SQL to run")
                .value_name("SQL")
                .required_unless("file")
                .conflicts_with("file"),
        )
        .arg(
            ArgSpec::option("file", "Read the SQL from a file (`-` reads stdin)")
                .short('f')
                .value_name("PATH")
                .value_type(ValueType::InputFile)
                .allow_stdin(),
        )
        .arg(ArgSpec::switch(
            "unrestricted",
            "Run as the database owner rather than the project admin",
        ))
        .example(
            "insforge db query \"SELECT id, title FROM posts LIMIT 5\"",
            "Show five posts",
        )
        .example(
            "insforge db query --file migrations/001_init.sql",
            "Run the statements in a file",
        )
}

fn listing_spec(name: &str, summary: &str, example: &str) -> CommandSpec {
    CommandSpec::new(name, summary)
        .needs(Needs::Project)
        .example(
            format!("{example} --json"),
            "Print the backend's answer as JSON",
        )
}

fn rpc_spec() -> CommandSpec {
    CommandSpec::new("rpc", "Call a database function")
        .needs(Needs::Project)
        .long_help(
            "Calls a PostgreSQL function through the backend's REST layer and prints what it \
             returns as JSON. Without --data the function is called with GET and no arguments; \
             with --data its named arguments are sent as a JSON object with POST.",
        )
        .arg(
            ArgSpec::positional("function", "The function's name")
                .value_name("FUNCTION")
                .required(),
        )
        .arg(
            ArgSpec::option("data", "Arguments as a JSON object")
                .short('d')
                .value_name("JSON")
                .value_type(ValueType::Json),
        )
        .example(
            "insforge db rpc post_count",
            "Call post_count() without arguments",
        )
        .example(
            "insforge db rpc add_numbers --data '{\"a\": 1, \"b\": 2}'",
            "Call add_numbers(a => 1, b => 2)",
        )
}

fn export_spec() -> CommandSpec {
    CommandSpec::new("export", "Export the database as SQL or JSON")
        .needs(Needs::Project)
        .long_help(
            "Asks the backend for a dump of the public schema: table definitions, indexes, \
             policies and triggers, and the rows unless --no-data is given. The SQL (or JSON) \
             is written as the backend produced it, to stdout or to the file given with \
             --output. The backend exports at most --row-limit rows per table (1000 unless \
             set) and this command warns when a table was cut.",
        )
        .arg(
            ArgSpec::option("format", "The dump's format")
                .value_name("FORMAT")
                .allowed_values(["sql", "json"])
                .default_value("sql"),
        )
        .arg(
            ArgSpec::option("tables", "Only these tables, separated by commas")
                .value_name("TABLES"),
        )
        .arg(ArgSpec::switch(
            "no-data",
            "Leave out the rows: schema only",
        ))
        .arg(ArgSpec::switch(
            "include-functions",
            "Include the database functions",
        ))
        .arg(ArgSpec::switch(
            "include-sequences",
            "Include the sequences",
        ))
        .arg(ArgSpec::switch("include-views", "Include the views"))
        .arg(
            ArgSpec::option("row-limit", "Export at most N rows per table (1 to 10000)")
                .value_name("N")
                .range(1, 10_000),
        )
        .arg(
            ArgSpec::option(
                "output",
                "Write the dump to FILE instead of stdout (`-` is stdout)",
            )
            .short('o')
            .value_name("FILE")
            .value_type(ValueType::OutputFile)
            .allow_stdout(),
        )
        .example(
            "insforge db export -o backup.sql",
            "Save schema and rows as SQL",
        )
        .example(
            "insforge db export --format json --tables posts,comments --no-data",
            "Print the schema of two tables as JSON",
        )
}

fn import_spec() -> CommandSpec {
    CommandSpec::new("import", "Run a SQL file against the database")
        .needs(Needs::Project)
        .long_help(
            "Uploads a .sql or .txt file whose statements the backend runs in one transaction: \
             if one fails, none is applied. --truncate first empties every table of the public \
             schema, including tables the file does not mention.",
        )
        .arg(
            ArgSpec::positional("file", "The SQL file to import")
                .value_name("FILE")
                .value_type(ValueType::InputFile)
                .required(),
        )
        .arg(ArgSpec::switch(
            "truncate",
            "Empty every public table before importing",
        ))
        .example("insforge db import backup.sql", "Replay an export")
        .example(
            "insforge db import --truncate seed.sql",
            "Replace all rows with the ones in seed.sql",
        )
}

#[cfg(test)]
mod spec_tests {
    use super::*;

    #[test]
    fn every_command_needs_a_linked_project() {
        let spec = Db::describe();
        assert_eq!(spec.name, "db");
        assert!(!spec.command.subcommands.is_empty());
        for command in &spec.command.subcommands {
            assert_eq!(command.needs, Needs::Project, "{}", command.name);
        }
    }

    #[test]
    fn query_takes_exactly_one_of_sql_and_file() {
        let spec = Db::describe();
        let query = spec.command.find(&["query".to_string()]).unwrap();
        let sql = query.args.iter().find(|a| a.name == "sql").unwrap();
        assert_eq!(sql.required_unless, ["file"]);
        assert_eq!(sql.conflicts_with, ["file"]);
        let file = query.args.iter().find(|a| a.name == "file").unwrap();
        assert!(file.allow_stdin);
    }

    #[test]
    fn export_takes_dash_for_stdout_as_its_output() {
        let spec = Db::describe();
        let export = spec.command.find(&["export".to_string()]).unwrap();
        let output = export.args.iter().find(|a| a.name == "output").unwrap();
        assert_eq!(output.value_type, ValueType::OutputFile);
        assert!(output.allow_stdout);
    }

    #[test]
    fn arguments_the_code_reads_are_declared() {
        let spec = Db::describe();
        let declared = |command: &str, arg: &str| {
            spec.command
                .find(&[command.to_string()])
                .is_some_and(|c| c.args.iter().any(|a| a.name == arg))
        };
        for (command, arg) in [
            ("query", "sql"),
            ("query", "file"),
            ("query", "unrestricted"),
            ("rpc", "function"),
            ("rpc", "data"),
            ("export", "format"),
            ("export", "tables"),
            ("export", "no-data"),
            ("export", "include-functions"),
            ("export", "include-sequences"),
            ("export", "include-views"),
            ("export", "row-limit"),
            ("export", "output"),
            ("import", "file"),
            ("import", "truncate"),
        ] {
            assert!(declared(command, arg), "{command} --{arg}");
        }
    }
}
