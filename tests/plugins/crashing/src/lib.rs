//! A plugin for tests only: `crashing panic` panics inside plugin code, so tests can check that
//! the SDK catches the panic at the ABI boundary and the host reports a crash (exit 6) instead
//! of aborting. `crashing ok` succeeds, to show that the same library loads and runs normally.
//! `crashing profile` needs a login and reads the platform profile through the host, so tests
//! can check that a plugin's platform requests carry the login and share its one refresh.

use insforge_plugin_api::prelude::*;

/// The test plugin.
pub struct Crashing;

impl Plugin for Crashing {
    const NAME: &'static str = "crashing";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn describe() -> PluginSpec {
        PluginSpec::new(
            Self::VERSION,
            CommandSpec::new("crashing", "Test plugin that panics on request")
                .subcommand(CommandSpec::new("panic", "Panic inside the plugin"))
                .subcommand(CommandSpec::new("ok", "Succeed without doing anything"))
                .subcommand(
                    CommandSpec::new("profile", "Print the platform profile of the login")
                        .needs(Needs::Login),
                ),
        )
    }

    fn run(cx: &mut Context<'_>, invocation: &Invocation) -> Result<()> {
        match invocation.command_path().as_str() {
            "panic" => panic!("boom from the crashing plugin"),
            "ok" => cx.success("the crashing plugin ran without crashing"),
            "profile" => {
                let profile = cx
                    .send(Request::platform("GET", "/auth/v1/profile"))?
                    .error_for_status()?
                    .json()?;
                cx.json(&profile)
            }
            other => Err(Error::usage(format!("unknown command `{other}`"))),
        }
    }
}

insforge_plugin_api::export_plugin!(Crashing);
