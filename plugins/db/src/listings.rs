//! `db tables`, `indexes`, `policies`, `triggers`, `functions`: read-only listings of the public
//! schema. With `--json` the backend's answer is printed unchanged; otherwise a table with fixed
//! columns, booleans as Yes/No and absent values as `-`.

use insforge_plugin_api::prelude::*;

/// One of the listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    Tables,
    Indexes,
    Policies,
    Triggers,
    Functions,
}

pub(crate) fn run(cx: &mut Context<'_>, listing: Listing) -> Result<()> {
    let response = cx
        .send(Request::backend("GET", listing.path()))?
        .error_for_status()?;
    if cx.json_mode() {
        return cx.json_text(&response.text());
    }
    let table = listing.table(&response.json()?);
    if table.is_empty() {
        cx.line(listing.empty_message())
    } else {
        cx.table(&table)
    }
}

impl Listing {
    fn path(self) -> &'static str {
        match self {
            Listing::Tables => "/api/database/tables",
            Listing::Indexes => "/api/database/indexes",
            Listing::Policies => "/api/database/policies",
            Listing::Triggers => "/api/database/triggers",
            Listing::Functions => "/api/database/functions",
        }
    }

    /// The key under which the backend wraps the list (`{"indexes": [...]}`).
    fn key(self) -> &'static str {
        match self {
            Listing::Tables => "tables",
            Listing::Indexes => "indexes",
            Listing::Policies => "policies",
            Listing::Triggers => "triggers",
            Listing::Functions => "functions",
        }
    }

    fn empty_message(self) -> &'static str {
        match self {
            Listing::Tables => "No tables found.",
            Listing::Indexes => "No database indexes found.",
            Listing::Policies => "No RLS policies found.",
            Listing::Triggers => "No database triggers found.",
            Listing::Functions => "No database functions found.",
        }
    }

    fn columns(self) -> &'static [&'static str] {
        match self {
            Listing::Tables => &["Table Name"],
            Listing::Indexes => &["Table", "Index Name", "Definition", "Unique", "Primary"],
            Listing::Policies => &[
                "Table",
                "Policy Name",
                "Command",
                "Roles",
                "Qual",
                "With Check",
            ],
            Listing::Triggers => &[
                "Name",
                "Table",
                "Timing",
                "Events",
                "ActionOrientation",
                "ActionCondition",
                "ActionStatement",
            ],
            Listing::Functions => &["Name", "Definition", "Kind"],
        }
    }

    fn row(self, item: &Value) -> Vec<Value> {
        let text = |key: &str| Value::String(text(item.get(key)));
        let yes_no = |key: &str| Value::String(yes_no(item.get(key)).to_owned());
        match self {
            // The backend lists bare names; an object (a richer future answer) shows its name.
            Listing::Tables => vec![Value::String(match item {
                Value::String(name) => name.clone(),
                _ => text_of_first(item, &["tableName", "name"]),
            })],
            Listing::Indexes => vec![
                text("tableName"),
                text("indexName"),
                text("indexDef"),
                yes_no("isUnique"),
                yes_no("isPrimary"),
            ],
            Listing::Policies => vec![
                text("tableName"),
                text("policyName"),
                text("cmd"),
                text("roles"),
                text("qual"),
                text("withCheck"),
            ],
            Listing::Triggers => vec![
                text("triggerName"),
                text("tableName"),
                text("actionTiming"),
                text("eventManipulation"),
                text("actionOrientation"),
                text("actionCondition"),
                text("actionStatement"),
            ],
            Listing::Functions => vec![text("functionName"), text("functionDef"), text("kind")],
        }
    }

    /// The human table for an answer, which may be the wrapped object or a bare array.
    pub(crate) fn table(self, answer: &Value) -> Table {
        let items = match answer {
            Value::Array(items) => items.as_slice(),
            _ => answer
                .get(self.key())
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice),
        };
        let mut table = Table::new(self.columns().iter().copied());
        for item in items {
            table.row(self.row(item));
        }
        table
    }
}

/// A listing cell: text as it is, arrays (such as roles) joined with `, `, absent or null as `-`.
/// Trailing line breaks are dropped: Postgres ends every function definition with one, which
/// would only draw an empty line at the bottom of the cell.
fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.trim_end_matches(['\n', '\r']).to_owned(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

fn text_of_first(item: &Value, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|key| item.get(key).and_then(Value::as_str))
        .map_or_else(|| item.to_string(), str::to_owned)
}

/// Postgres leaves these flags null for some index kinds; null reads as "no".
fn yes_no(value: Option<&Value>) -> &'static str {
    if value.and_then(Value::as_bool) == Some(true) {
        "Yes"
    } else {
        "No"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(listing: Listing, answer: Value) -> Value {
        serde_json::to_value(listing.table(&answer)).unwrap()["rows"].clone()
    }

    #[test]
    fn tables_from_a_bare_array_or_a_wrapper() {
        assert_eq!(
            rows(Listing::Tables, json!(["comments", "posts"])),
            json!([["comments"], ["posts"]])
        );
        assert_eq!(
            rows(Listing::Tables, json!({"tables": ["posts"]})),
            json!([["posts"]])
        );
        assert!(Listing::Tables.table(&json!([])).is_empty());
    }

    #[test]
    fn index_flags_read_yes_or_no() {
        let answer = json!({"indexes": [
            {"tableName": "posts", "indexName": "posts_pkey", "indexDef": "CREATE UNIQUE INDEX …",
             "isUnique": true, "isPrimary": null}
        ]});
        assert_eq!(
            rows(Listing::Indexes, answer),
            json!([["posts", "posts_pkey", "CREATE UNIQUE INDEX …", "Yes", "No"]])
        );
    }

    #[test]
    fn policy_roles_show_as_given_or_joined_and_nulls_as_dashes() {
        let answer = json!([
            {"tableName": "posts", "policyName": "read", "cmd": "SELECT",
             "roles": "{anon,authenticated}", "qual": "true", "withCheck": null},
            {"tableName": "posts", "policyName": "write", "cmd": "INSERT",
             "roles": ["anon", "authenticated"]}
        ]);
        assert_eq!(
            rows(Listing::Policies, answer),
            json!([
                [
                    "posts",
                    "read",
                    "SELECT",
                    "{anon,authenticated}",
                    "true",
                    "-"
                ],
                ["posts", "write", "INSERT", "anon, authenticated", "-", "-"]
            ])
        );
    }

    #[test]
    fn triggers_and_functions_map_their_fields() {
        let triggers = json!({"triggers": [{
            "tableName": "posts", "triggerName": "touch", "actionTiming": "BEFORE",
            "eventManipulation": "UPDATE", "actionOrientation": "ROW",
            "actionCondition": null, "actionStatement": "EXECUTE FUNCTION touch()"
        }]});
        assert_eq!(
            rows(Listing::Triggers, triggers),
            json!([[
                "touch",
                "posts",
                "BEFORE",
                "UPDATE",
                "ROW",
                "-",
                "EXECUTE FUNCTION touch()"
            ]])
        );
        let functions = json!({"functions": [
            {"functionName": "touch", "functionDef": "CREATE FUNCTION …\nBEGIN\n", "kind": "f"}
        ]});
        assert_eq!(
            rows(Listing::Functions, functions),
            json!([["touch", "CREATE FUNCTION …\nBEGIN", "f"]])
        );
    }

    #[test]
    fn an_unexpected_answer_is_an_empty_listing() {
        assert!(Listing::Functions.table(&json!({"other": 1})).is_empty());
        assert!(Listing::Indexes.table(&json!(null)).is_empty());
    }
}
