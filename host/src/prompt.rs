//! Questions to the user. Asked only on a terminal: without one, a command that would ask
//! fails at once and names the flag that answers the question instead.
#![allow(clippy::print_stderr)]

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, Password, Select};

use crate::error::{CliError, Kind, Result};

/// Set while a prompt owns the terminal, so Ctrl-C can give the terminal back as it was.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Whether a prompt is on screen.
pub fn active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Marks a prompt as on screen for its lifetime, remembering the terminal's settings.
struct Asking;

impl Asking {
    fn start() -> Self {
        terminal::save();
        ACTIVE.store(true, Ordering::SeqCst);
        Asking
    }
}

impl Drop for Asking {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::SeqCst);
    }
}

/// Puts the terminal back as it was before the prompt (echo on, cursor shown). Called by the
/// Ctrl-C handler: a prompt that hides what you type would otherwise leave the shell silent.
pub fn restore_terminal() {
    terminal::restore();
    let _ = dialoguer::console::Term::stderr().show_cursor();
    eprintln!();
    crate::output::report_interrupted();
}

#[cfg(unix)]
mod terminal {
    use std::sync::Mutex;

    static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

    pub fn save() {
        let mut state = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr writes a termios into the buffer when it returns 0.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, state.as_mut_ptr()) } == 0 {
            // SAFETY: initialised by the successful call above.
            let state = unsafe { state.assume_init() };
            *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
        }
    }

    pub fn restore() {
        if let Some(state) = *SAVED.lock().unwrap_or_else(|p| p.into_inner()) {
            // SAFETY: `state` came from tcgetattr on the same descriptor.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &state) };
        }
    }
}

#[cfg(not(unix))]
mod terminal {
    pub fn save() {}
    pub fn restore() {}
}

/// Whether prompts can be shown: stdin and stderr are both terminals.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The error for a question that cannot be asked: exit 1, naming the flag to use.
pub fn needs_flag(flag: &str, what: &str) -> CliError {
    CliError::usage(format!("{what}, and there is no terminal to ask on"))
        .with_hint(format!("pass {flag}"))
}

fn cancelled(err: dialoguer::Error) -> CliError {
    match err {
        dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            CliError::new(Kind::Interrupted, "cancelled")
        }
        dialoguer::Error::IO(e) => CliError::general(format!("cannot read the answer: {e}")),
    }
}

/// Lets the user pick one of `items`; `None` when they pressed Esc or q.
pub fn select(prompt: &str, items: &[String]) -> Result<Option<usize>> {
    let _asking = Asking::start();
    Select::with_theme(&ColorfulTheme::default())
        .with_prompt(prompt)
        .items(items)
        .default(0)
        .interact_opt()
        .map_err(cancelled)
}

/// Asks for a line of text, checked by `valid`.
pub fn text(
    prompt: &str,
    default: Option<String>,
    valid: impl Fn(&String) -> std::result::Result<(), String>,
) -> Result<String> {
    let _asking = Asking::start();
    let theme = ColorfulTheme::default();
    let mut input = Input::<String>::with_theme(&theme).with_prompt(prompt);
    if let Some(d) = default {
        input = input.default(d);
    }
    input
        .validate_with(|s: &String| valid(s))
        .interact_text()
        .map_err(cancelled)
}

/// Asks for a secret without echoing it.
pub fn password(prompt: &str) -> Result<String> {
    let _asking = Asking::start();
    Password::with_theme(&ColorfulTheme::default())
        .with_prompt(prompt)
        .interact()
        .map_err(cancelled)
}
