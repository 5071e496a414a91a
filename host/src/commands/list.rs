//! `insforge list`.

use clap::{ArgMatches, Command};

use crate::app::Env;
use crate::error::{CliError, Result};

pub fn command() -> Command {
    Command::new("list").about("TODO")
}

pub fn run(_env: &Env, _m: &ArgMatches) -> Result<()> {
    Err(CliError::general("not yet"))
}
