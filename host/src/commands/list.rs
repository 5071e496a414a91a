//! `insforge list`: every organisation the login belongs to, with its projects.

use clap::{ArgMatches, Command};
use serde_json::{json, Map, Value};

use crate::app::Env;
use crate::commands::projects;
use crate::error::Result;

/// The project fields `list` shows, in order.
const PROJECT_FIELDS: [&str; 5] = ["id", "name", "region", "status", "appkey"];

pub fn command() -> Command {
    Command::new("list")
        .about("List your organizations and their projects")
        .long_about(
            "List every organization your login belongs to, with its projects (cloud only).\n\n\
             Needs a login (`insforge login`, or INSFORGE_ACCESS_TOKEN). The organizations' \
             projects are fetched in parallel; if any request fails, nothing is printed.",
        )
        .after_help("Examples:\n  insforge list\n  insforge list --json")
}

pub fn run(env: &Env, _m: &ArgMatches) -> Result<()> {
    env.session()?.require_login()?;
    let orgs = projects::organizations(env)?;
    let ids: Vec<String> = orgs.iter().map(|o| projects::text(o, "id")).collect();
    let all = if ids.is_empty() {
        Vec::new()
    } else {
        projects::projects_of_all(env, &ids)?
    };
    let listing: Vec<(Value, Vec<Value>)> = orgs.into_iter().zip(all).collect();

    if env.output.json_mode() {
        return env.output.json_value(&to_json(&listing));
    }
    if listing.is_empty() {
        return env.output.line("No organizations found.");
    }
    // The official table plus the project's id, which `link --project-id` needs.
    let columns = [
        "Organization",
        "Project",
        "ID",
        "Region",
        "Status",
        "AppKey",
    ]
    .map(String::from);
    env.output.table(&columns, &rows(&listing))
}

/// A field as listed: its value, `null` when missing.
fn field(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// `[{"id","name","type","projects":[{"id","name","region","status","appkey"}]}]`.
fn to_json(listing: &[(Value, Vec<Value>)]) -> Value {
    let orgs = listing.iter().map(|(org, projects)| {
        let projects: Vec<Value> = projects
            .iter()
            .map(|p| {
                let fields: Map<String, Value> = PROJECT_FIELDS
                    .iter()
                    .map(|k| ((*k).to_owned(), field(p, k)))
                    .collect();
                Value::Object(fields)
            })
            .collect();
        json!({
            "id": field(org, "id"),
            "name": field(org, "name"),
            "type": field(org, "type"),
            "projects": projects,
        })
    });
    Value::Array(orgs.collect())
}

/// One table row per project; the organisation's name only on its first row, and a row of
/// dashes for an organisation without projects.
fn rows(listing: &[(Value, Vec<Value>)]) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for (org, projects) in listing {
        let name = Value::String(projects::text(org, "name"));
        if projects.is_empty() {
            let dash = Value::String("-".into());
            let mut row = vec![name];
            row.extend(std::iter::repeat_n(dash, 5));
            rows.push(row);
            continue;
        }
        for (i, p) in projects.iter().enumerate() {
            let first = if i == 0 {
                name.clone()
            } else {
                Value::String(String::new())
            };
            let cell = |k: &str| match projects::text(p, k) {
                t if t.is_empty() => Value::String("-".into()),
                t => Value::String(t),
            };
            rows.push(vec![
                first,
                cell("name"),
                cell("id"),
                cell("region"),
                cell("status"),
                cell("appkey"),
            ]);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> Vec<(Value, Vec<Value>)> {
        vec![
            (
                json!({"id": "o1", "name": "Acme", "type": "team", "created_at": "x"}),
                vec![
                    json!({"id": "p1", "name": "a", "region": "us-east", "status": "active", "appkey": "k1", "extra": 1}),
                    json!({"id": "p2", "name": "b", "region": "eu-central", "status": "paused"}),
                ],
            ),
            (json!({"id": "o2", "name": "Solo"}), vec![]),
        ]
    }

    #[test]
    fn json_keeps_the_listed_fields_in_order_with_nulls_for_missing_ones() {
        let doc = to_json(&listing());
        assert_eq!(doc[1]["type"], Value::Null);
        assert_eq!(doc[1]["projects"], json!([]));
        assert_eq!(doc[0]["projects"][1]["appkey"], Value::Null);
        assert!(doc[0]["projects"][0].get("extra").is_none());
        let keys: Vec<_> = doc[0]["projects"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, PROJECT_FIELDS);
    }

    #[test]
    fn rows_name_the_org_once_and_dash_an_empty_one() {
        let rows = rows(&listing());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], "Acme");
        assert_eq!(rows[0][2], "p1", "the project's id follows its name");
        assert_eq!(rows[1][0], "");
        assert_eq!(rows[1][5], "-", "a missing appkey");
        assert_eq!(
            rows[2],
            vec![
                json!("Solo"),
                json!("-"),
                json!("-"),
                json!("-"),
                json!("-"),
                json!("-")
            ]
        );
    }
}
