//! `db export`: asks the backend for a dump and writes the dump itself, not its JSON wrapper.
//!
//! The backend answers `{"format", "data", "timestamp"}` where `data` is the SQL text (format
//! `sql`) or an object (format `json`); older backends used a string `content`. The official
//! tool writes that whole wrapper to the file; we write what is inside it, so `-o dump.sql`
//! gives a file psql can run. A string is written byte for byte: no newline is added, because
//! the bytes are the backend's and a dump compared or hashed later must match what it sent.

use serde_json::Map;

use insforge_plugin_api::prelude::*;

use crate::files;

const EXPORT: &str = "/api/database/advance/export";
/// The backend's bounds for `rowLimit`.
const ROW_LIMIT_RANGE: std::ops::RangeInclusive<i64> = 1..=10_000;

pub(crate) fn run(cx: &mut Context<'_>, invocation: &Invocation) -> Result<()> {
    let options = Options::from_invocation(invocation)?;
    let response = cx
        .send(Request::backend("POST", EXPORT).json(&options.body()))?
        .error_for_status()?;
    let dump = Dump::from_body(&response.body)?;

    // `-o -` means stdout, as for every Unix tool that takes an output file. The description
    // declares `allow_stdout`, so the host passes `-` on without checking it as a file name.
    match invocation.str("output").filter(|o| *o != "-") {
        Some(output) => {
            files::write_atomically(&files::resolve(cx, output), &dump.text)
                .map_err(|e| Error::general(format!("cannot write {output}: {e}")))?;
            if cx.json_mode() {
                let format = dump.format.as_deref().unwrap_or(&options.format);
                cx.json(&json!({
                    "output": output,
                    "bytes": dump.text.len(),
                    "format": format,
                }))?;
            } else {
                cx.success(&format!("Exported to {output}"))?;
            }
        }
        None if cx.json_mode() => cx.json_text(&response.text())?,
        None => cx.write_stdout(&dump.text)?,
    }

    if let Some(warning) = dump.truncation_warning(options.row_limit) {
        cx.warn(&warning)?;
        cx.hint("export more rows per table with --row-limit (at most 10000)")?;
    }
    Ok(())
}

/// The export flags, as the request body needs them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Options {
    format: String,
    include_data: bool,
    tables: Option<Vec<String>>,
    include_functions: bool,
    include_sequences: bool,
    include_views: bool,
    row_limit: Option<i64>,
}

impl Options {
    fn from_invocation(invocation: &Invocation) -> Result<Self> {
        let tables = invocation.str("tables").map(split_tables).transpose()?;
        let row_limit = invocation.int("row-limit");
        if let Some(limit) = row_limit {
            // The backend's rule, checked here so a typo costs no round trip.
            if !ROW_LIMIT_RANGE.contains(&limit) {
                return Err(Error::usage(format!(
                    "--row-limit must be between {} and {}, not {limit}",
                    ROW_LIMIT_RANGE.start(),
                    ROW_LIMIT_RANGE.end()
                )));
            }
        }
        Ok(Options {
            format: invocation.str("format").unwrap_or("sql").to_owned(),
            include_data: !invocation.flag("no-data"),
            tables,
            include_functions: invocation.flag("include-functions"),
            include_sequences: invocation.flag("include-sequences"),
            include_views: invocation.flag("include-views"),
            row_limit,
        })
    }

    /// The request body. Key order is fixed (`format, includeData, tables?, includeFunctions?,
    /// includeSequences?, includeViews?, rowLimit?`) and optional keys appear only when set,
    /// which keeps requests identical to the official tool's for the same flags.
    pub(crate) fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("format".into(), json!(self.format));
        body.insert("includeData".into(), json!(self.include_data));
        if let Some(tables) = &self.tables {
            body.insert("tables".into(), json!(tables));
        }
        for (key, on) in [
            ("includeFunctions", self.include_functions),
            ("includeSequences", self.include_sequences),
            ("includeViews", self.include_views),
        ] {
            if on {
                body.insert(key.into(), json!(true));
            }
        }
        if let Some(limit) = self.row_limit {
            body.insert("rowLimit".into(), json!(limit));
        }
        Value::Object(body)
    }
}

/// `a, b,c` → `["a", "b", "c"]`. Empty names (a trailing comma) are dropped; a list with no
/// name at all is refused, since the backend would read `[]` as "every table".
fn split_tables(list: &str) -> Result<Vec<String>> {
    let tables: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if tables.is_empty() {
        return Err(Error::usage(
            "--tables needs at least one table name (leave it out to export every table)",
        ));
    }
    Ok(tables)
}

/// What the backend sent, unwrapped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dump {
    /// The bytes to write.
    pub(crate) text: Vec<u8>,
    /// The format the backend says it used.
    pub(crate) format: Option<String>,
    /// Tables that had more rows than the limit.
    pub(crate) truncated_tables: Vec<String>,
    /// The limit the backend applied, when it says.
    pub(crate) row_limit: Option<u64>,
}

impl Dump {
    /// `data` (string as is, anything else as pretty JSON with a final newline), else a string
    /// `content` (older backends). Anything else is refused: an error page or a cut-off answer
    /// must not replace a good dump on disk with garbage and report success.
    pub(crate) fn from_body(body: &[u8]) -> Result<Self> {
        let answer: Map<String, Value> = serde_json::from_slice(body).map_err(|e| {
            Error::general(format!("the server's export answer is not valid JSON: {e}"))
        })?;

        let text =
            match (answer.get("data"), answer.get("content")) {
                (Some(Value::String(text)), _) => text.as_bytes().to_vec(),
                (Some(data), _) if !data.is_null() => {
                    let mut pretty = serde_json::to_vec_pretty(data)
                        .expect("a serde_json::Value always serialises");
                    pretty.push(b'\n');
                    pretty
                }
                (_, Some(Value::String(text))) => text.as_bytes().to_vec(),
                _ => return Err(Error::general(
                    "the server's export answer has no `data` (nor `content`); nothing was written",
                )),
            };
        let truncated_tables = answer
            .get("truncatedTables")
            .and_then(Value::as_array)
            .map(|tables| {
                tables
                    .iter()
                    .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Dump {
            text,
            format: answer
                .get("format")
                .and_then(Value::as_str)
                .map(str::to_owned),
            truncated_tables,
            row_limit: answer.get("rowLimit").and_then(Value::as_u64),
        })
    }

    /// The warning for tables the row limit cut, if any.
    pub(crate) fn truncation_warning(&self, requested_limit: Option<i64>) -> Option<String> {
        let (subject, verb) = match self.truncated_tables.as_slice() {
            [] => return None,
            [table] => (format!("table {table}"), "was"),
            tables => (format!("tables {}", tables.join(", ")), "were"),
        };
        let limit = self
            .row_limit
            .or_else(|| requested_limit.and_then(|n| u64::try_from(n).ok()));
        let detail = match limit {
            Some(1) => " (1 row per table)".to_owned(),
            Some(n) => format!(" ({n} rows per table)"),
            None => String::new(),
        };
        Some(format!(
            "the export is incomplete: {subject} {verb} cut at the row limit{detail}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            format: "sql".into(),
            include_data: true,
            tables: None,
            include_functions: false,
            include_sequences: false,
            include_views: false,
            row_limit: None,
        }
    }

    fn invocation(args: Value) -> Invocation {
        Invocation {
            command: vec!["export".into()],
            args: args.as_object().unwrap().clone(),
        }
    }

    #[test]
    fn default_body_sends_format_and_include_data_only() {
        assert_eq!(
            serde_json::to_string(&options().body()).unwrap(),
            r#"{"format":"sql","includeData":true}"#
        );
    }

    #[test]
    fn body_keys_keep_the_documented_order() {
        let inv = invocation(json!({
            "format": "json", "tables": " posts, comments ,", "no-data": true,
            "include-functions": true, "include-sequences": true, "include-views": true,
            "row-limit": 10, "output": null
        }));
        let body = Options::from_invocation(&inv).unwrap().body();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"format":"json","includeData":false,"tables":["posts","comments"],"includeFunctions":true,"includeSequences":true,"includeViews":true,"rowLimit":10}"#
        );
    }

    #[test]
    fn unset_switches_are_left_out() {
        let inv = invocation(json!({
            "format": "sql", "tables": "posts", "include-functions": true, "row-limit": 5,
            "no-data": false, "include-sequences": false, "include-views": false
        }));
        let body = Options::from_invocation(&inv).unwrap().body();
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"format":"sql","includeData":true,"tables":["posts"],"includeFunctions":true,"rowLimit":5}"#
        );
    }

    #[test]
    fn bad_flags_are_refused_before_sending() {
        for args in [
            json!({"row-limit": 0}),
            json!({"row-limit": 10001}),
            json!({"tables": " , "}),
        ] {
            let err = Options::from_invocation(&invocation(args.clone())).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Usage, "{args}");
        }
        assert!(Options::from_invocation(&invocation(json!({"row-limit": 10000}))).is_ok());
    }

    #[test]
    fn sql_data_is_written_byte_for_byte() {
        let body = br#"{"format":"sql","data":"-- Database Export\r\nCREATE TABLE t ();","timestamp":"2025-01-01T00:00:00Z"}"#;
        let dump = Dump::from_body(body).unwrap();
        assert_eq!(dump.text, b"-- Database Export\r\nCREATE TABLE t ();");
        assert_eq!(dump.format.as_deref(), Some("sql"));
        assert!(dump.truncation_warning(None).is_none());
    }

    #[test]
    fn json_data_is_written_pretty_in_its_own_key_order() {
        let body =
            br#"{"format":"json","data":{"timestamp":"t","tables":{"b":{"rows":[1.50]},"a":{}}}}"#;
        let dump = Dump::from_body(body).unwrap();
        assert_eq!(
            String::from_utf8(dump.text).unwrap(),
            "{\n  \"timestamp\": \"t\",\n  \"tables\": {\n    \"b\": {\n      \"rows\": [\n        1.50\n      ]\n    },\n    \"a\": {}\n  }\n}\n"
        );
    }

    #[test]
    fn legacy_content_and_unknown_answers() {
        let legacy =
            Dump::from_body(br#"{"format":"sql","content":"SELECT 1;","tables":["t"]}"#).unwrap();
        assert_eq!(legacy.text, b"SELECT 1;");

        assert!(Dump::from_body(b"-- not JSON at all\n").is_err());
        assert!(Dump::from_body(br#"{"rows": [1,2"#).is_err());
        assert!(Dump::from_body(br#"{"format":"sql","something":"else"}"#).is_err());

        let null_data = br#"{"data":null,"content":"x"}"#;
        assert_eq!(Dump::from_body(null_data).unwrap().text, b"x");
    }

    #[test]
    fn truncated_tables_produce_a_warning() {
        let body =
            br#"{"format":"sql","data":"","truncatedTables":["posts","logs"],"rowLimit":100}"#;
        let dump = Dump::from_body(body).unwrap();
        assert_eq!(dump.truncated_tables, ["posts", "logs"]);
        assert_eq!(
            dump.truncation_warning(None).unwrap(),
            "the export is incomplete: tables posts, logs were cut at the row limit (100 rows per table)"
        );

        let one = Dump::from_body(br#"{"data":"","truncatedTables":["posts"]}"#).unwrap();
        assert_eq!(
            one.truncation_warning(Some(5)).unwrap(),
            "the export is incomplete: table posts was cut at the row limit (5 rows per table)"
        );
        let unknown_limit = Dump::from_body(br#"{"data":"","truncatedTables":["posts"]}"#).unwrap();
        assert_eq!(
            unknown_limit.truncation_warning(None).unwrap(),
            "the export is incomplete: table posts was cut at the row limit"
        );
    }
}
