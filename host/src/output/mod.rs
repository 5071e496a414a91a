//! Every byte the host writes to stdout and stderr goes through here.
//!
//! stdout carries the result and nothing else; with `--json` it carries exactly one JSON
//! document. stderr carries warnings, hints, errors and logs. Colour appears only on terminals,
//! never with `NO_COLOR`, `--no-color` or `--json`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod table;

use std::cell::Cell;
use std::io::{IsTerminal, Write};

use serde_json::Value;

use crate::error::{CliError, Result};

const RED_BOLD: &str = "\x1b[1;31m";
const YELLOW_BOLD: &str = "\x1b[1;33m";
const GREEN: &str = "\x1b[32m";
const CYAN_BOLD: &str = "\x1b[1;36m";
const RESET: &str = "\x1b[0m";

/// The host's writer for results and diagnostics.
#[derive(Debug)]
pub struct Output {
    json: bool,
    stdout_color: bool,
    stderr_color: bool,
    json_documents: Cell<u32>,
}

impl Output {
    pub fn new(json: bool, no_color: bool) -> Self {
        JSON_MODE.store(json, std::sync::atomic::Ordering::Relaxed);
        let color_allowed = !json && !no_color && std::env::var_os("NO_COLOR").is_none();
        Output {
            json,
            stdout_color: color_allowed && std::io::stdout().is_terminal(),
            stderr_color: color_allowed && std::io::stderr().is_terminal(),
            json_documents: Cell::new(0),
        }
    }

    pub fn json_mode(&self) -> bool {
        self.json
    }

    /// Whether animated output (spinners, progress bars) may be drawn on stderr.
    pub fn animations(&self) -> bool {
        self.stderr_color
    }

    /// Writes bytes to stdout unchanged. A closed pipe (`| head`) ends output quietly.
    pub fn stdout_bytes(&self, bytes: &[u8]) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match out.write_all(bytes).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|e| CliError::general(format!("cannot write output: {e}"))),
        }
    }

    /// A plain result line (human mode only).
    pub fn line(&self, text: &str) -> Result<()> {
        if self.json {
            return Ok(());
        }
        self.stdout_bytes(format!("{}\n", printable(text)).as_bytes())
    }

    /// A `✓` success line (human mode only).
    pub fn success(&self, text: &str) -> Result<()> {
        if self.json {
            return Ok(());
        }
        let mark = paint("✓", GREEN, self.stdout_color);
        self.stdout_bytes(format!("{mark} {}\n", printable(text)).as_bytes())
    }

    /// A table (human mode only).
    pub fn table(&self, columns: &[String], rows: &[Vec<Value>]) -> Result<()> {
        if self.json {
            return Ok(());
        }
        let style = table::Style {
            color: self.stdout_color,
        };
        self.stdout_bytes(table::render(columns, rows, style).as_bytes())
    }

    /// Aligned `key: value` lines (human mode only).
    pub fn record(&self, fields: &[(String, String)]) -> Result<()> {
        if self.json {
            return Ok(());
        }
        let width = fields
            .iter()
            .map(|(k, _)| unicode_width::UnicodeWidthStr::width(k.as_str()))
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for (key, value) in fields {
            let pad = width - unicode_width::UnicodeWidthStr::width(key.as_str());
            text.push_str(&format!("{key}:{} {}\n", " ".repeat(pad), printable(value)));
        }
        self.stdout_bytes(text.as_bytes())
    }

    /// The JSON result: pretty, two-space indented, key order and number digits as given.
    pub fn json_value(&self, value: &Value) -> Result<()> {
        let count = self.json_documents.get() + 1;
        self.json_documents.set(count);
        if count > 1 && self.json {
            return Err(CliError::plugin(
                "the command produced more than one JSON document",
            ));
        }
        let mut text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::general(format!("cannot print JSON: {e}")))?;
        text.push('\n');
        self.stdout_bytes(text.as_bytes())
    }

    /// JSON text received from a server or plugin, checked and pretty-printed.
    pub fn json_text(&self, text: &str) -> Result<()> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| CliError::general(format!("the server sent invalid JSON: {e}")))?;
        self.json_value(&value)
    }

    /// A warning on stderr (`{"warning": ...}` with `--json`).
    pub fn warning(&self, text: &str) {
        let text = &printable(text);
        if self.json {
            let line = serde_json::json!({ "warning": text });
            eprintln!("{line}");
        } else {
            eprintln!(
                "{} {text}",
                paint("warning:", YELLOW_BOLD, self.stderr_color)
            );
        }
    }

    /// A `hint:` line on stderr.
    pub fn hint(&self, text: &str) {
        let text = printable(text);
        eprintln!("{} {text}", paint("hint:", CYAN_BOLD, self.stderr_color));
    }

    /// Text for stderr as is (usage messages, help on a usage error).
    pub fn stderr_text(&self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// Reports the error that ends the run: `error:` and `hint:` lines, and with `--json` the
    /// compact JSON error line as the last line of stderr.
    pub fn error(&self, err: &CliError) {
        if err.shown {
            if self.json {
                eprintln!("{}", error_line(err));
            }
            return;
        }
        eprintln!(
            "{} {}",
            paint("error:", RED_BOLD, self.stderr_color),
            printable(&err.message)
        );
        for hint in &err.hints {
            self.hint(hint);
        }
        if self.json {
            eprintln!("{}", error_line(err));
        }
    }
}

/// Whether this run prints JSON; read by code that has no `Output` at hand (the Ctrl-C handler).
static JSON_MODE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A progress note on stderr from code that has no `Output` at hand.
pub fn note(text: &str) {
    if JSON_MODE.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{}", serde_json::json!({ "note": text }));
    } else {
        eprintln!("{text}");
    }
}

/// Reports an interruption from the Ctrl-C handler, which then exits 130 at once.
pub fn report_interrupted() {
    let err = CliError::new(crate::error::Kind::Interrupted, "interrupted");
    eprintln!("error: interrupted");
    if JSON_MODE.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{}", error_line(&err));
    }
}

/// The `--json` error line: `{"error": <message>, "code": <code>, "hint": <text, optional>}`.
pub fn error_line(err: &CliError) -> String {
    let mut line = serde_json::Map::new();
    line.insert("error".into(), Value::String(err.message.clone()));
    line.insert("code".into(), Value::String(err.json_code().to_owned()));
    if !err.hints.is_empty() {
        line.insert("hint".into(), Value::String(err.hints.join("\n")));
    }
    Value::Object(line).to_string()
}

/// Server-provided text reaches a terminal: escape sequences in it are shown, not obeyed.
/// Line breaks stay, since messages may span lines.
fn printable(text: &str) -> String {
    text.split('\n')
        .map(table::sanitize)
        .collect::<Vec<_>>()
        .join("\n")
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    #[test]
    fn error_line_is_compact_and_carries_code_and_hint() {
        let err = CliError::new(Kind::NotFound, "Secret not found: X")
            .with_code("SECRET_NOT_FOUND")
            .with_hint("list secrets with `insforge secrets list`");
        assert_eq!(
            error_line(&err),
            r#"{"error":"Secret not found: X","code":"SECRET_NOT_FOUND","hint":"list secrets with `insforge secrets list`"}"#
        );
    }

    #[test]
    fn error_line_without_server_code_uses_the_kind() {
        let err = CliError::not_linked();
        assert!(error_line(&err).contains(r#""code":"PROJECT_NOT_LINKED""#));
    }

    #[test]
    fn escape_sequences_in_messages_are_shown_not_obeyed() {
        let text =
            printable("relation \"\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}t\" does not exist\nnext");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(!text.contains('\u{202e}'));
        assert!(text.contains("\\u{1b}]0;pwned"));
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn big_integers_and_long_decimals_keep_their_digits() {
        let text = r#"{"b":"1","a":9223372036854775807,"d":3.14159265358979323846264338327950288}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert!(pretty.contains("9223372036854775807"));
        assert!(pretty.contains("3.14159265358979323846264338327950288"));
        assert!(pretty.find("\"b\"").unwrap() < pretty.find("\"a\"").unwrap());
    }
}
