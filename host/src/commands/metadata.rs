//! `insforge metadata`: the project backend's own description of itself (auth settings,
//! tables, buckets, functions, realtime channels), from `GET /api/metadata`.
//!
//! With `--json` the answer is printed unchanged. Otherwise it is laid out in sections with
//! the official tool's labels. Its tables are drawn by the host's box-drawn renderer (the same
//! as every other table here), and the answer is read defensively: a missing or wrongly typed
//! field shows as `-` (or an empty list) and never stops the command.

use clap::{ArgMatches, Command};
use insforge_plugin_api::Request;
use serde_json::Value;

use crate::app::Env;
use crate::error::Result;
use crate::output::table::sanitize;

pub fn command() -> Command {
    Command::new("metadata")
        .about("Show the backend's metadata (auth settings, tables, buckets, functions)")
}

pub fn run(env: &Env, _m: &ArgMatches) -> Result<()> {
    let value = env.json(Request::backend("GET", "/api/metadata"))?;
    if env.output.json_mode() {
        return env.output.json_value(&value);
    }
    for block in blocks(&value) {
        match block {
            Block::Line(text) => env.output.line(&text)?,
            Block::Table { columns, rows } => env.output.table(&columns, &rows)?,
        }
    }
    Ok(())
}

/// One piece of the human output. Tables stay separate so that `run` can draw them through
/// `Output`, which colours them on a terminal.
enum Block {
    Line(String),
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    },
}

fn blocks(value: &Value) -> Vec<Block> {
    let mut out = Vec::new();
    auth(&mut out, value.get("auth"));
    database(&mut out, value.get("database"));
    storage(&mut out, value.get("storage"));
    functions(&mut out, value.get("functions"));
    ai_models(&mut out, value.get("aiIntegration"));
    realtime(&mut out, value.get("realtime"));
    let version = value.get("version");
    if let Some(version) = version.filter(|v| !v.is_null() && v.as_str() != Some("")) {
        out.push(Block::Line(String::new()));
        out.push(line(format!("  Version: {}", text(Some(version)))));
    }
    out.push(Block::Line(String::new()));
    out
}

fn auth(out: &mut Vec<Block>, auth: Option<&Value>) {
    let field = |name: &str| auth.and_then(|a| a.get(name));
    let providers = strings(field("oAuthProviders"));
    let providers = if providers.is_empty() {
        "(none)".to_owned()
    } else {
        providers.join(", ")
    };
    out.push(Block::Line(String::new()));
    out.push(line("  Auth".to_owned()));
    out.push(line(format!("    OAuth Providers:   {providers}")));
    out.push(line(format!(
        "    Email Verification: {}",
        yes_no(field("requireEmailVerification"))
    )));
    out.push(line("    Password Policy:".to_owned()));
    out.push(line(format!(
        "      Min Length: {}, requireLowercase: {}, requireNumber: {}, \
         requireSpecialChar: {}, requireUppercase: {}",
        text(field("passwordMinLength")),
        text(field("requireLowercase")),
        text(field("requireNumber")),
        text(field("requireSpecialChar")),
        text(field("requireUppercase")),
    )));
    out.push(line(format!(
        "    Verify Email Method: {}",
        text(field("verifyEmailMethod"))
    )));
    out.push(line(format!(
        "    Reset Password Method: {}",
        text(field("resetPasswordMethod"))
    )));
}

fn database(out: &mut Vec<Block>, database: Option<&Value>) {
    let field = |name: &str| database.and_then(|d| d.get(name));
    out.push(Block::Line(String::new()));
    out.push(line("  Database".to_owned()));
    out.push(line(format!("    Size: {}", size(field("totalSizeInGB")))));
    let rows: Vec<Vec<Value>> = items(field("tables"))
        .iter()
        .map(|t| vec![cell(t.get("tableName")), cell(t.get("recordCount"))])
        .collect();
    push_table(out, &["Table", "Records"], rows, "    No tables.");
}

fn storage(out: &mut Vec<Block>, storage: Option<&Value>) {
    let field = |name: &str| storage.and_then(|s| s.get(name));
    out.push(Block::Line(String::new()));
    out.push(line("  Storage".to_owned()));
    out.push(line(format!("    Size: {}", size(field("totalSizeInGB")))));
    let rows: Vec<Vec<Value>> = items(field("buckets"))
        .iter()
        .map(|b| {
            vec![
                cell(b.get("name")),
                Value::String(yes_no(b.get("public")).to_owned()),
                cell(b.get("objectCount")),
            ]
        })
        .collect();
    push_table(
        out,
        &["Bucket", "Public", "Objects"],
        rows,
        "    No buckets.",
    );
}

fn functions(out: &mut Vec<Block>, functions: Option<&Value>) {
    out.push(Block::Line(String::new()));
    out.push(line("  Functions".to_owned()));
    let rows: Vec<Vec<Value>> = items(functions)
        .iter()
        .map(|f| {
            vec![
                cell(f.get("slug")),
                cell(f.get("name")),
                cell(f.get("status")),
                cell(f.get("description")),
            ]
        })
        .collect();
    push_table(
        out,
        &["Slug", "Name", "Status", "Description"],
        rows,
        "    No functions deployed.",
    );
}

/// Older backends describe their AI models; shown only when there are some.
fn ai_models(out: &mut Vec<Block>, ai: Option<&Value>) {
    let models = items(ai.and_then(|a| a.get("models")));
    if models.is_empty() {
        return;
    }
    let rows = models
        .iter()
        .map(|m| {
            vec![
                cell(m.get("modelId")),
                joined(m.get("inputModality")),
                joined(m.get("outputModality")),
            ]
        })
        .collect();
    out.push(Block::Line(String::new()));
    out.push(line("  AI Models".to_owned()));
    push_table(out, &["Model", "Input", "Output"], rows, "");
}

/// Shown only when the backend lists realtime channels.
fn realtime(out: &mut Vec<Block>, realtime: Option<&Value>) {
    let channels = items(realtime.and_then(|r| r.get("channels")));
    if channels.is_empty() {
        return;
    }
    let rows = channels
        .iter()
        .map(|c| {
            vec![
                cell(c.get("id")),
                cell(c.get("pattern")),
                joined(c.get("webhookUrls")),
                Value::String(yes_no(c.get("enabled")).to_owned()),
                cell(c.get("description")),
            ]
        })
        .collect();
    out.push(Block::Line(String::new()));
    out.push(line(format!("  Realtime: {} channel(s)", channels.len())));
    push_table(
        out,
        &["Id", "Pattern", "Webhook URLs", "Enabled", "Description"],
        rows,
        "",
    );
}

fn push_table(out: &mut Vec<Block>, columns: &[&str], rows: Vec<Vec<Value>>, empty: &str) {
    if rows.is_empty() {
        out.push(Block::Line(empty.to_owned()));
        return;
    }
    out.push(Block::Table {
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        rows,
    });
}

/// A line whose text may carry server data: control characters are shown, not obeyed
/// (table cells get the same treatment from the renderer).
fn line(text: String) -> Block {
    Block::Line(sanitize(&text))
}

/// The elements of an array; anything else counts as none.
fn items(value: Option<&Value>) -> &[Value] {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// A value as display text: strings as they are, `-` for missing, null or empty, other
/// values as compact JSON.
fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) if s.is_empty() => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A table cell holding [`text`] (never SQL `NULL`).
fn cell(value: Option<&Value>) -> Value {
    Value::String(text(value))
}

fn yes_no(value: Option<&Value>) -> &'static str {
    match value {
        Some(Value::Bool(true)) => "Yes",
        Some(Value::Bool(false)) => "No",
        _ => "-",
    }
}

/// The text of an array's elements.
fn strings(value: Option<&Value>) -> Vec<String> {
    items(value).iter().map(|v| text(Some(v))).collect()
}

/// An array joined with `, `, or `-` when missing or empty.
fn joined(value: Option<&Value>) -> Value {
    match value {
        Some(Value::Array(list)) if !list.is_empty() => Value::String(strings(value).join(", ")),
        Some(Value::Array(_)) | None | Some(Value::Null) => Value::String("-".to_owned()),
        Some(other) => cell(Some(other)),
    }
}

/// A size given in GB: KB below 0.001 GB, MB below 1 GB, else GB (binary units).
fn size(value: Option<&Value>) -> String {
    match value.and_then(Value::as_f64).filter(|g| g.is_finite()) {
        Some(g) => format_size(g),
        None => "-".to_owned(),
    }
}

fn format_size(gb: f64) -> String {
    if gb < 0.001 {
        format!("{:.1} KB", gb * 1024.0 * 1024.0)
    } else if gb < 1.0 {
        format!("{:.2} MB", gb * 1024.0)
    } else {
        format!("{gb:.2} GB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::table;
    use serde_json::json;

    /// The human layout as `run` prints it with colour off: the same blocks, lines as they
    /// are and tables through the output module's renderer.
    fn render(value: &Value) -> String {
        let mut out = String::new();
        for block in blocks(value) {
            match block {
                Block::Line(text) => {
                    out.push_str(&text);
                    out.push('\n');
                }
                Block::Table { columns, rows } => {
                    out.push_str(&table::render(
                        &columns,
                        &rows,
                        table::Style { color: false },
                    ));
                }
            }
        }
        out
    }

    const FIXTURE: &str = r#"{
  "auth": {
    "oAuthProviders": ["google", "github"],
    "customOAuthProviders": [],
    "smtpConfig": {"enabled": false, "host": "", "port": 587, "username": "", "hasPassword": false,
                   "senderEmail": "", "senderName": "", "minIntervalSeconds": 60},
    "requireEmailVerification": true,
    "passwordMinLength": 8,
    "requireNumber": true,
    "requireLowercase": true,
    "requireUppercase": false,
    "requireSpecialChar": false,
    "verifyEmailMethod": "code",
    "resetPasswordMethod": "link",
    "allowedRedirectUrls": ["https://todo.example.com"],
    "disableSignup": false
  },
  "database": {
    "tables": [{"tableName": "posts", "recordCount": 120}, {"tableName": "comments", "recordCount": 431}],
    "totalSizeInGB": 0.0123
  },
  "storage": {
    "buckets": [
      {"name": "avatars", "public": true, "createdAt": "2025-05-01T09:00:00.000Z", "objectCount": 3},
      {"name": "invoices", "public": false, "createdAt": "2025-05-02T09:00:00.000Z", "objectCount": 0}
    ],
    "totalSizeInGB": 0.00051
  },
  "functions": [
    {"slug": "hello-world", "name": "hello-world", "description": "Greets the caller", "status": "active"},
    {"slug": "send-email", "name": "Send Email", "description": null, "status": "draft"}
  ],
  "realtime": {
    "channels": [
      {"id": "8e9fa0b1-c2d3-4e4f-9a5b-6c7d8e9fa0b1", "pattern": "chat:%", "description": "Chat rooms",
       "webhookUrls": null, "enabled": true,
       "createdAt": "2025-05-05T10:00:00.000Z", "updatedAt": "2025-05-05T10:00:00.000Z"}
    ],
    "permissions": {"subscribe": {"policies": []}, "publish": {"policies": []}}
  },
  "version": "1.9.3"
}"#;

    #[test]
    fn sizes_use_kb_mb_and_gb() {
        assert_eq!(format_size(0.0), "0.0 KB");
        assert_eq!(format_size(0.00051), "534.8 KB");
        assert_eq!(format_size(0.0123), "12.60 MB");
        assert_eq!(format_size(2.5), "2.50 GB");
        assert_eq!(format_size(0.001), "1.02 MB");
        assert_eq!(format_size(1.0), "1.00 GB");
        assert_eq!(size(Some(&json!("big"))), "-");
        assert_eq!(size(None), "-");
        // Digits kept as text by the JSON parser still read as numbers.
        let parsed: Value = serde_json::from_str("0.00000095367431640625").unwrap();
        assert_eq!(size(Some(&parsed)), "1.0 KB");
    }

    #[test]
    fn the_contract_fixture_renders_every_section() {
        let value: Value = serde_json::from_str(FIXTURE).unwrap();
        let expected = "
  Auth
    OAuth Providers:   google, github
    Email Verification: Yes
    Password Policy:
      Min Length: 8, requireLowercase: true, requireNumber: true, requireSpecialChar: false, requireUppercase: false
    Verify Email Method: code
    Reset Password Method: link

  Database
    Size: 12.60 MB
┌──────────┬─────────┐
│ Table    │ Records │
├──────────┼─────────┤
│ posts    │ 120     │
├──────────┼─────────┤
│ comments │ 431     │
└──────────┴─────────┘

  Storage
    Size: 534.8 KB
┌──────────┬────────┬─────────┐
│ Bucket   │ Public │ Objects │
├──────────┼────────┼─────────┤
│ avatars  │ Yes    │ 3       │
├──────────┼────────┼─────────┤
│ invoices │ No     │ 0       │
└──────────┴────────┴─────────┘

  Functions
┌─────────────┬─────────────┬────────┬───────────────────┐
│ Slug        │ Name        │ Status │ Description       │
├─────────────┼─────────────┼────────┼───────────────────┤
│ hello-world │ hello-world │ active │ Greets the caller │
├─────────────┼─────────────┼────────┼───────────────────┤
│ send-email  │ Send Email  │ draft  │ -                 │
└─────────────┴─────────────┴────────┴───────────────────┘

  Realtime: 1 channel(s)
┌──────────────────────────────────────┬─────────┬──────────────┬─────────┬─────────────┐
│ Id                                   │ Pattern │ Webhook URLs │ Enabled │ Description │
├──────────────────────────────────────┼─────────┼──────────────┼─────────┼─────────────┤
│ 8e9fa0b1-c2d3-4e4f-9a5b-6c7d8e9fa0b1 │ chat:%  │ -            │ Yes     │ Chat rooms  │
└──────────────────────────────────────┴─────────┴──────────────┴─────────┴─────────────┘

  Version: 1.9.3

";
        assert_eq!(render(&value), expected);
    }

    #[test]
    fn empty_sections_say_so_and_optional_sections_are_left_out() {
        let value = json!({
            "auth": {"oAuthProviders": [], "requireEmailVerification": false, "passwordMinLength": 6,
                     "requireNumber": false, "requireLowercase": false, "requireUppercase": true,
                     "requireSpecialChar": true, "verifyEmailMethod": "link", "resetPasswordMethod": "code"},
            "database": {"tables": [], "totalSizeInGB": 0},
            "storage": {"buckets": [], "totalSizeInGB": 0},
            "functions": [],
            "realtime": {"channels": [], "permissions": {"subscribe": {"policies": []}, "publish": {"policies": []}}},
            "aiIntegration": {"models": []}
        });
        let expected = "
  Auth
    OAuth Providers:   (none)
    Email Verification: No
    Password Policy:
      Min Length: 6, requireLowercase: false, requireNumber: false, requireSpecialChar: true, requireUppercase: true
    Verify Email Method: link
    Reset Password Method: code

  Database
    Size: 0.0 KB
    No tables.

  Storage
    Size: 0.0 KB
    No buckets.

  Functions
    No functions deployed.

";
        assert_eq!(render(&value), expected);
    }

    #[test]
    fn legacy_ai_models_are_shown_when_present() {
        let value = json!({
            "aiIntegration": {"models": [
                {"modelId": "gpt-4o", "inputModality": ["text", "image"], "outputModality": ["text"]},
                {"modelId": "odd", "inputModality": null}
            ]}
        });
        let out = render(&value);
        assert!(out.contains("\n  AI Models\n┌"), "{out}");
        assert!(out.contains("│ gpt-4o │ text, image │ text   │"), "{out}");
        assert!(out.contains("│ odd    │ -           │ -      │"), "{out}");
    }

    #[test]
    fn missing_or_wrongly_typed_fields_show_a_dash_and_never_panic() {
        for value in [
            json!(null),
            json!([]),
            json!("text"),
            json!({"version": ""}),
            json!({"auth": 1, "database": [], "storage": "x", "functions": {}, "realtime": {"channels": 3}}),
        ] {
            let out = render(&value);
            assert!(out.contains("    OAuth Providers:   (none)\n"), "{out}");
            assert!(out.contains("    Email Verification: -\n"), "{out}");
            assert!(
                out.contains("      Min Length: -, requireLowercase: -,"),
                "{out}"
            );
            assert!(out.contains("    Size: -\n    No tables.\n"), "{out}");
            assert!(out.contains("    No buckets.\n"), "{out}");
            assert!(out.contains("    No functions deployed.\n"), "{out}");
            assert!(!out.contains("Realtime"), "{out}");
            assert!(!out.contains("Version"), "{out}");
        }
        let value = json!({
            "database": {"tables": [{"tableName": 7}, "posts", {"recordCount": "many"}], "totalSizeInGB": "1"},
            "storage": {"buckets": [{"name": "b", "public": "yes"}]},
            "functions": [{"slug": "s", "description": ""}],
            "realtime": {"channels": [{"id": "c", "webhookUrls": ["https://a", "https://b"], "enabled": false}]},
            "version": 2
        });
        let out = render(&value);
        assert!(out.contains("│ 7     │ -       │"), "{out}");
        assert!(out.contains("│ -     │ many    │"), "{out}");
        assert!(out.contains("│ b      │ -      │ -       │"), "{out}");
        assert!(
            out.contains("│ s    │ -    │ -      │ -           │"),
            "{out}"
        );
        assert!(
            out.contains("│ c  │ -       │ https://a, https://b │ No      │ -           │"),
            "{out}"
        );
        assert!(out.contains("  Realtime: 1 channel(s)\n"), "{out}");
        assert!(out.ends_with("\n  Version: 2\n\n"), "{out}");
    }

    #[test]
    fn escape_sequences_from_the_server_are_shown_not_obeyed() {
        let value = json!({
            "auth": {"oAuthProviders": ["evil\u{1b}[2J"], "verifyEmailMethod": "a\nb"},
            "database": {"tables": [{"tableName": "t\u{1b}]0;x\u{7}", "recordCount": 1}]},
            "version": "1\u{202e}"
        });
        let out = render(&value);
        assert!(!out.contains('\u{1b}'), "{out:?}");
        assert!(!out.contains('\u{202e}'), "{out:?}");
        assert!(out.contains("    Verify Email Method: a\\u{a}b\n"), "{out}");
    }
}
