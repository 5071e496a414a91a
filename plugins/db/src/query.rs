//! `db query`: runs SQL through the backend's raw SQL endpoint and shows what it returns.

use insforge_plugin_api::prelude::*;
use serde_json::Map;

use crate::files;

/// Runs as the project admin; the backend guards what it accepts.
const RAWSQL: &str = "/api/database/advance/rawsql";
/// Runs as the database owner.
const RAWSQL_UNRESTRICTED: &str = "/api/database/advance/rawsql/unrestricted";

pub(crate) fn run(cx: &mut Context<'_>, invocation: &Invocation) -> Result<()> {
    let sql = sql_to_run(cx, invocation)?;
    let path = if invocation.flag("unrestricted") {
        RAWSQL_UNRESTRICTED
    } else {
        RAWSQL
    };
    let response = cx
        .send(Request::backend("POST", path).json(&json!({ "query": sql })))?
        .error_for_status()?;

    if cx.json_mode() {
        return cx.json_text(&response.text());
    }
    let outcome = Outcome::from_answer(&response.json()?);
    if let Some(table) = &outcome.table {
        cx.table(table)?;
    }
    for line in &outcome.lines {
        cx.line(line)?;
    }
    Ok(())
}

/// The SQL from the positional argument or from `--file` (the host lets exactly one through).
/// Either way it is sent as it is: no trimming, no splitting, the final `;` kept, since the
/// backend (and Postgres) decide what the text means.
fn sql_to_run(cx: &Context<'_>, invocation: &Invocation) -> Result<String> {
    if let Some(path) = invocation.str("file") {
        let bytes = files::read_input(cx, path)?;
        let source = if path == files::STDIN { "stdin" } else { path };
        // The query travels as a JSON string, which cannot carry arbitrary bytes; replacing
        // invalid sequences would silently change the SQL, so refuse instead.
        return String::from_utf8(bytes)
            .map_err(|_| Error::usage(format!("the SQL in {source} is not valid UTF-8")));
    }
    invocation
        .str("sql")
        .map(str::to_owned)
        .ok_or_else(|| Error::usage("give the SQL to run, or --file PATH"))
}

/// What the human output shows for one answer: an optional table, then message lines.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) table: Option<Table>,
    pub(crate) lines: Vec<String>,
}

impl Outcome {
    /// Reads the backend's answer `{rows, rowCount, fields}`. Older backends put the rows in
    /// `data`; a multi-statement query answers with `rows` alone; DDL has a null `rowCount`.
    pub(crate) fn from_answer(answer: &Value) -> Self {
        let rows = rows_of(answer);
        if !rows.is_empty() {
            return Outcome {
                table: Some(rows_table(rows)),
                lines: vec![count_line(rows.len() as u64, "returned")],
            };
        }

        let mut lines = vec!["Query executed successfully.".to_owned()];
        let row_count = answer.get("rowCount").and_then(Value::as_u64);
        let has_fields = answer
            .get("fields")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        // A statement that describes result columns was a query that matched nothing; a count
        // without columns is what INSERT, UPDATE and DELETE (without RETURNING) report.
        match row_count {
            Some(n) if !has_fields => lines.push(count_line(n, "affected")),
            _ => lines.push("No rows returned.".to_owned()),
        }
        Outcome { table: None, lines }
    }
}

/// The rows of an answer: `rows`, else `data`, else none.
fn rows_of(answer: &Value) -> &[Value] {
    ["rows", "data"]
        .iter()
        .find_map(|key| answer.get(key).and_then(Value::as_array))
        .map_or(&[][..], Vec::as_slice)
}

/// One column per key, in the order keys first appear across all rows: Postgres gives every
/// row the same keys, but an answer built otherwise must not lose columns. Cells are the JSON
/// values themselves, so the host can tell NULL from the text "NULL" and keep numbers exact.
fn rows_table(rows: &[Value]) -> Table {
    let mut columns: Vec<&str> = Vec::new();
    let mut scalar_rows = false;
    for row in rows {
        match row {
            Value::Object(fields) => {
                for key in fields.keys() {
                    if !columns.contains(&key.as_str()) {
                        columns.push(key);
                    }
                }
            }
            _ => scalar_rows = true,
        }
    }
    // Rows that are not objects (not something Postgres produces) still get shown, whole, in a
    // column of their own.
    let scalar_column = scalar_rows.then_some(columns.len());

    let mut headers: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    if scalar_column.is_some() {
        headers.push("value".to_owned());
    }
    let mut table = Table::new(headers);
    let empty = Map::new();
    for row in rows {
        let fields = row.as_object().unwrap_or(&empty);
        let mut cells: Vec<Value> = columns
            .iter()
            .map(|c| fields.get(*c).cloned().unwrap_or_else(missing_cell))
            .collect();
        if scalar_column.is_some() {
            cells.push(if row.is_object() {
                missing_cell()
            } else {
                row.clone()
            });
        }
        table.row(cells);
    }
    table
}

/// A cell for a key the row lacks: empty, unlike a SQL NULL.
fn missing_cell() -> Value {
    Value::String(String::new())
}

fn count_line(n: u64, verb: &str) -> String {
    let noun = if n == 1 { "row" } else { "rows" };
    format!("{n} {noun} {verb}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_json(outcome: &Outcome) -> Value {
        serde_json::to_value(outcome.table.as_ref().expect("a table")).unwrap()
    }

    #[test]
    fn select_rows_become_a_table_with_values_unchanged() {
        let answer: Value = serde_json::from_str(
            r#"{"rows":[{"id":1,"title":null,"meta":{"b":1,"a":[true]},"ok":false,
                          "big":12345678901234567890123,"count":"0","price":1.50}],
                "rowCount":1,"fields":[{"name":"id","dataTypeID":23}]}"#,
        )
        .unwrap();
        let outcome = Outcome::from_answer(&answer);
        let table = table_json(&outcome);
        assert_eq!(
            table["columns"],
            json!(["id", "title", "meta", "ok", "big", "count", "price"])
        );
        // Serialised back exactly: key order inside objects and the digits of numbers survive.
        assert_eq!(
            serde_json::to_string(&table["rows"]).unwrap(),
            r#"[[1,null,{"b":1,"a":[true]},false,12345678901234567890123,"0",1.50]]"#
        );
        assert_eq!(outcome.lines, ["1 row returned."]);
    }

    #[test]
    fn columns_are_the_union_of_keys_in_first_seen_order() {
        let answer = json!({"rows": [{"b": 1, "a": 2}, {"a": 3, "c": 4}]});
        let outcome = Outcome::from_answer(&answer);
        let table = table_json(&outcome);
        assert_eq!(table["columns"], json!(["b", "a", "c"]));
        assert_eq!(table["rows"], json!([[1, 2, ""], ["", 3, 4]]));
        assert_eq!(outcome.lines, ["2 rows returned."]);
    }

    #[test]
    fn rows_fall_back_to_data() {
        let outcome = Outcome::from_answer(&json!({"data": [{"x": 1}]}));
        assert_eq!(table_json(&outcome)["rows"], json!([[1]]));
    }

    #[test]
    fn scalar_rows_get_a_value_column() {
        let outcome = Outcome::from_answer(&json!({"rows": [{"x": 1}, 7]}));
        let table = table_json(&outcome);
        assert_eq!(table["columns"], json!(["x", "value"]));
        assert_eq!(table["rows"], json!([[1, ""], ["", 7]]));
    }

    #[test]
    fn a_write_reports_the_rows_it_affected() {
        let outcome = Outcome::from_answer(&json!({"rows": [], "rowCount": 3, "fields": []}));
        assert!(outcome.table.is_none());
        assert_eq!(
            outcome.lines,
            ["Query executed successfully.", "3 rows affected."]
        );
        let one = Outcome::from_answer(&json!({"rows": [], "rowCount": 1, "fields": []}));
        assert_eq!(one.lines[1], "1 row affected.");
    }

    #[test]
    fn a_select_that_matches_nothing_returns_no_rows() {
        let answer = json!({"rows": [], "rowCount": 0, "fields": [{"name": "id"}]});
        assert_eq!(
            Outcome::from_answer(&answer).lines,
            ["Query executed successfully.", "No rows returned."]
        );
    }

    #[test]
    fn ddl_and_odd_answers_do_not_fail() {
        for answer in [
            json!({"rows": [], "rowCount": null, "fields": []}),
            json!({"rows": [], "rowCount": null, "fields": null}),
            json!({"rows": []}),
            json!({}),
            json!({"rows": "not an array"}),
            json!(null),
        ] {
            let outcome = Outcome::from_answer(&answer);
            assert!(outcome.table.is_none(), "{answer}");
            assert_eq!(
                outcome.lines,
                ["Query executed successfully.", "No rows returned."],
                "{answer}"
            );
        }
    }

    #[test]
    fn a_count_with_missing_fields_is_a_write() {
        let outcome = Outcome::from_answer(&json!({"rows": [], "rowCount": 2}));
        assert_eq!(outcome.lines[1], "2 rows affected.");
    }
}
