//! `insforge completion <shell>`: a completion script for the core commands and every plugin
//! found now. Plugins installed later appear after the script is generated again.

use clap::{value_parser, Arg, ArgMatches, Command};
use clap_complete::Shell;

use crate::app::Env;
use crate::error::Result;
use crate::plugins::Registry;

pub fn command() -> Command {
    Command::new("completion")
        .about("Print a shell completion script")
        .arg(
            Arg::new("shell")
                .required(true)
                .value_parser(value_parser!(Shell))
                .help("The shell to complete in"),
        )
        .after_help(
            "Examples:\n  insforge completion bash > ~/.local/share/bash-completion/completions/insforge\n  \
             insforge completion zsh > ~/.zfunc/_insforge\n  \
             insforge completion fish > ~/.config/fish/completions/insforge.fish",
        )
}

pub fn run(env: &Env, m: &ArgMatches) -> Result<()> {
    let shell = *m
        .get_one::<Shell>("shell")
        .expect("clap requires the shell");
    let registry = Registry::discover(env.project.as_ref().map(|p| p.root.as_path()));
    let mut root = crate::cli::root(&registry.all_specs());
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut root, "insforge", &mut script);
    env.output.stdout_bytes(&script)
}
