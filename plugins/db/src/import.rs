//! `db import`: uploads a SQL file that the backend runs in one transaction.

use std::path::Path;

use insforge_plugin_api::prelude::*;

use crate::files;

const IMPORT: &str = "/api/database/advance/import";

pub(crate) fn run(cx: &mut Context<'_>, invocation: &Invocation) -> Result<()> {
    let given = invocation
        .str("file")
        .ok_or_else(|| Error::usage("give the SQL file to import"))?;
    let filename = base_name(given);

    // The host streams the part from disk, so a large dump is never held in memory. The backend
    // accepts the file only under the field name `file`, and decides by the file name's
    // extension whether it is SQL.
    let mut form = Multipart::new().file(
        "file",
        files::resolve(cx, given),
        &filename,
        "application/octet-stream",
    );
    if invocation.flag("truncate") {
        // Emptying every table is destructive: it needs --yes, or a yes on a terminal.
        let prompt = "Empty every table in the public schema before importing?";
        if !cx.confirm(prompt, false)? {
            return Err(Error::general("import cancelled: nothing was changed"));
        }
        form = form.text("truncate", "true");
    }
    let response = cx
        .send(Request::backend("POST", IMPORT).multipart(form))?
        .error_for_status()?;

    if cx.json_mode() {
        return cx.json_text(&response.text());
    }
    cx.success(&summary(&response.json()?, &filename))
}

/// The last component of the path the user gave, which is the name the backend sees.
fn base_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// `Imported seed.sql (2 tables, 3 rows)` from `{filename, tables: [...], rowsImported}`.
fn summary(answer: &Value, filename: &str) -> String {
    let filename = answer
        .get("filename")
        .and_then(Value::as_str)
        .unwrap_or(filename);
    let tables = answer
        .get("tables")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let rows = answer
        .get("rowsImported")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    format!(
        "Imported {filename} ({}, {})",
        plural(tables as u64, "table"),
        plural(rows, "row")
    )
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_sees_the_base_name() {
        assert_eq!(base_name("dumps/2025/seed.sql"), "seed.sql");
        assert_eq!(base_name("/abs/seed.txt"), "seed.txt");
        assert_eq!(base_name("seed.sql"), "seed.sql");
    }

    #[test]
    fn summary_counts_tables_and_rows() {
        let answer = json!({
            "success": true, "message": "SQL file imported successfully",
            "filename": "seed.sql", "tables": ["posts", "comments"], "rowsImported": 3,
            "fileSize": 120
        });
        assert_eq!(
            summary(&answer, "ignored.sql"),
            "Imported seed.sql (2 tables, 3 rows)"
        );
        let one = json!({"tables": ["posts"], "rowsImported": 1});
        assert_eq!(summary(&one, "a.sql"), "Imported a.sql (1 table, 1 row)");
        assert_eq!(
            summary(&json!({}), "a.sql"),
            "Imported a.sql (0 tables, 0 rows)"
        );
    }
}
