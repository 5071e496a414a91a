//! Command descriptions: what a plugin tells the host about its commands, as data.
//!
//! The host builds its command-line parser, help text, completion and argument validation from a
//! [`PluginSpec`] without running any plugin code, so everything a user can type must be described
//! here. Descriptions cross the ABI as JSON; fields added in later minor versions have defaults, and
//! values an older host does not know (a new [`ValueType`], say) degrade to something it does.

use serde::{Deserialize, Serialize};

/// Everything a plugin declares about itself.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PluginSpec {
    /// The plugin's name, which is also its top-level command.
    pub name: String,
    /// The plugin's version (semver).
    pub version: String,
    /// The top-level command; its name equals the plugin's name.
    pub command: CommandSpec,
}

/// What a command needs before it may run. The host checks it after the arguments and before
/// calling the plugin, so a command that needs a project never runs in an unlinked directory.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Needs {
    /// Runs anywhere.
    #[default]
    Nothing,
    /// A linked project (found by walking up to the nearest `.insforge/project.json`).
    Project,
    /// A login to the cloud platform.
    Login,
}

/// One command (or command group) and its arguments.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CommandSpec {
    /// The word the user types.
    pub name: String,
    /// One line for command lists.
    pub summary: String,
    /// Longer help shown by `--help`, if any.
    #[serde(default)]
    pub long_help: Option<String>,
    /// Worked examples, shown at the end of `--help`.
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Positional arguments (in order) and flags.
    #[serde(default)]
    pub args: Vec<ArgSpec>,
    /// What must be in place before the command runs.
    #[serde(default)]
    pub needs: Needs,
    /// Subcommands; a command with subcommands is a group and is never run itself.
    #[serde(default)]
    pub subcommands: Vec<CommandSpec>,
    /// Left out of help and completion.
    #[serde(default)]
    pub hidden: bool,
    /// Other words that run the same command.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A worked example for `--help`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Example {
    /// The command line, starting with `insforge`.
    pub command: String,
    /// What it does.
    pub description: String,
}

/// How an argument appears on the command line.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ArgKind {
    /// A positional value, `<name>`.
    Positional,
    /// A flag that takes a value, `--name <value>`.
    Option,
    /// A flag without a value, `--name`; its value is a boolean.
    Switch,
}

/// The type of an argument's value. The host checks it before the command runs.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ValueType {
    /// Any text.
    #[default]
    String,
    /// A whole number (sent to the plugin as a JSON number).
    Integer,
    /// JSON text that must parse (sent to the plugin as the text the user typed).
    Json,
    /// A file that must exist and be readable; `-` means stdin when `allow_stdin` is set.
    InputFile,
    /// A file to write; its directory must exist. `-` is passed through unchecked when
    /// `allow_stdout` is set (the plugin decides what it means, usually stdout).
    OutputFile,
    /// A directory that must exist.
    Directory,
    /// A type this host does not know yet; accepted as text.
    #[serde(other)]
    Unknown,
}

/// One positional argument or flag.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ArgSpec {
    /// The key the value is passed under; also the long flag name (`--name`) of flags.
    pub name: String,
    /// Positional, option or switch.
    pub kind: ArgKind,
    /// The value's type.
    #[serde(default)]
    pub value_type: ValueType,
    /// One line of help.
    #[serde(default)]
    pub help: String,
    /// A one-letter short flag, if any.
    #[serde(default)]
    pub short: Option<char>,
    /// Placeholder shown in help, e.g. `FILE`.
    #[serde(default)]
    pub value_name: Option<String>,
    /// Must be given.
    #[serde(default)]
    pub required: bool,
    /// Required unless one of these other arguments is given.
    #[serde(default)]
    pub required_unless: Vec<String>,
    /// May not be combined with these other arguments.
    #[serde(default)]
    pub conflicts_with: Vec<String>,
    /// Value used when not given.
    #[serde(default)]
    pub default: Option<String>,
    /// The only values accepted, if not empty.
    #[serde(default)]
    pub allowed_values: Vec<String>,
    /// May be given several times (the plugin receives an array).
    #[serde(default)]
    pub repeatable: bool,
    /// Left out of help.
    #[serde(default)]
    pub hidden: bool,
    /// Other long names for a flag.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// For [`ValueType::InputFile`]: `-` reads stdin.
    #[serde(default)]
    pub allow_stdin: bool,
    /// For [`ValueType::OutputFile`]: `-` is a value of its own (usually stdout), passed to
    /// the plugin as `-` without the output file checks, so even a directory named `-` does
    /// not stand in the way; what it means is the plugin's to decide. Left out of the
    /// description when false, so hosts and plugins of ABI 1.0 without it read the same JSON
    /// (an older host checks `-` as a file name in the working directory).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_stdout: bool,
    /// For [`ValueType::Integer`]: the smallest value accepted (ABI 1.0 hosts from this
    /// version on check it before anything is sent; older ones ignore it, so a plugin still
    /// checks what it relies on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// For [`ValueType::Integer`]: the largest value accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

impl PluginSpec {
    /// A plugin description whose top-level command is `command`.
    pub fn new(version: impl Into<String>, command: CommandSpec) -> Self {
        PluginSpec {
            name: command.name.clone(),
            version: version.into(),
            command,
        }
    }
}

impl CommandSpec {
    /// A command with a name and a one-line summary.
    pub fn new(name: impl Into<String>, summary: impl Into<String>) -> Self {
        CommandSpec {
            name: name.into(),
            summary: summary.into(),
            long_help: None,
            examples: Vec::new(),
            args: Vec::new(),
            needs: Needs::Nothing,
            subcommands: Vec::new(),
            hidden: false,
            aliases: Vec::new(),
        }
    }

    /// Sets the longer help text.
    pub fn long_help(mut self, text: impl Into<String>) -> Self {
        self.long_help = Some(text.into());
        self
    }

    /// Adds a worked example.
    pub fn example(mut self, command: impl Into<String>, description: impl Into<String>) -> Self {
        self.examples.push(Example {
            command: command.into(),
            description: description.into(),
        });
        self
    }

    /// Adds an argument or flag.
    pub fn arg(mut self, arg: ArgSpec) -> Self {
        self.args.push(arg);
        self
    }

    /// Declares what the command needs.
    pub fn needs(mut self, needs: Needs) -> Self {
        self.needs = needs;
        self
    }

    /// Adds a subcommand.
    pub fn subcommand(mut self, command: CommandSpec) -> Self {
        self.subcommands.push(command);
        self
    }

    /// Hides the command from help.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Adds an alias.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into());
        self
    }

    /// Finds a command by its path below this one (`["query"]` under `db`).
    pub fn find(&self, path: &[String]) -> Option<&CommandSpec> {
        match path.split_first() {
            None => Some(self),
            Some((first, rest)) => self
                .subcommands
                .iter()
                .find(|c| &c.name == first)
                .and_then(|c| c.find(rest)),
        }
    }
}

impl ArgSpec {
    fn new(name: impl Into<String>, kind: ArgKind, help: impl Into<String>) -> Self {
        ArgSpec {
            name: name.into(),
            kind,
            value_type: ValueType::String,
            help: help.into(),
            short: None,
            value_name: None,
            required: false,
            required_unless: Vec::new(),
            conflicts_with: Vec::new(),
            default: None,
            allowed_values: Vec::new(),
            repeatable: false,
            hidden: false,
            aliases: Vec::new(),
            allow_stdin: false,
            allow_stdout: false,
            min: None,
            max: None,
        }
    }

    /// A positional argument.
    pub fn positional(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, ArgKind::Positional, help)
    }

    /// A flag that takes a value (`--name <value>`).
    pub fn option(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, ArgKind::Option, help)
    }

    /// A flag without a value (`--name`).
    pub fn switch(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self::new(name, ArgKind::Switch, help)
    }

    /// Sets the value type.
    pub fn value_type(mut self, value_type: ValueType) -> Self {
        self.value_type = value_type;
        self
    }

    /// Sets a short flag.
    pub fn short(mut self, short: char) -> Self {
        self.short = Some(short);
        self
    }

    /// Sets the placeholder shown in help.
    pub fn value_name(mut self, name: impl Into<String>) -> Self {
        self.value_name = Some(name.into());
        self
    }

    /// Makes the argument required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Makes the argument required unless `other` is given.
    pub fn required_unless(mut self, other: impl Into<String>) -> Self {
        self.required_unless.push(other.into());
        self
    }

    /// Forbids combining the argument with `other`.
    pub fn conflicts_with(mut self, other: impl Into<String>) -> Self {
        self.conflicts_with.push(other.into());
        self
    }

    /// Sets the default value.
    pub fn default_value(mut self, value: impl Into<String>) -> Self {
        self.default = Some(value.into());
        self
    }

    /// Restricts the accepted values.
    pub fn allowed_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_values = values.into_iter().map(Into::into).collect();
        self
    }

    /// Makes the argument an integer between `min` and `max` (inclusive), checked by the host
    /// before anything is sent.
    pub fn range(mut self, min: i64, max: i64) -> Self {
        self.value_type = ValueType::Integer;
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    /// Allows the argument several times.
    pub fn repeatable(mut self) -> Self {
        self.repeatable = true;
        self
    }

    /// Hides the argument from help.
    pub fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }

    /// Adds another long name.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into());
        self
    }

    /// For input files: accept `-` for stdin.
    pub fn allow_stdin(mut self) -> Self {
        self.allow_stdin = true;
        self
    }

    /// For output files: accept `-` as it is (the plugin writes to stdout, usually); the host
    /// skips its output file checks for it.
    pub fn allow_stdout(mut self) -> Self {
        self.allow_stdout = true;
        self
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_value_type_from_a_newer_plugin_degrades_to_unknown() {
        let arg: ArgSpec =
            serde_json::from_str(r#"{"name":"when","kind":"option","value_type":"cron"}"#).unwrap();
        assert_eq!(arg.value_type, ValueType::Unknown);
        assert!(!arg.required);
    }

    #[test]
    fn allow_stdout_is_left_out_unless_set_so_the_description_reads_as_before() {
        let plain = ArgSpec::option("output", "File").value_type(ValueType::OutputFile);
        let text = serde_json::to_string(&plain).unwrap();
        assert!(!text.contains("allow_stdout"), "{text}");
        let back: ArgSpec = serde_json::from_str(&text).unwrap();
        assert!(!back.allow_stdout);

        let dash = plain.allow_stdout();
        let text = serde_json::to_string(&dash).unwrap();
        assert!(text.contains(r#""allow_stdout":true"#), "{text}");
        let back: ArgSpec = serde_json::from_str(&text).unwrap();
        assert_eq!(back, dash);
    }

    #[test]
    fn find_walks_subcommands() {
        let root = CommandSpec::new("db", "Database")
            .subcommand(CommandSpec::new("query", "Run SQL").needs(Needs::Project));
        let found = root.find(&["query".to_string()]).unwrap();
        assert_eq!(found.needs, Needs::Project);
        assert!(root.find(&["nope".to_string()]).is_none());
    }
}
