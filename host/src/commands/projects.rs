//! The platform's organisations and projects, as the core commands read them.
//!
//! The platform wraps most answers (`{"user": ...}`, `{"projects": [...]}`); like the official
//! tool we take the wrapper's value when present and the bare body otherwise, but unlike it we
//! check the shape and say what was wrong instead of failing somewhere later.

use insforge_plugin_api::{encode_component, Request};
use serde_json::Value;

use crate::app::Env;
use crate::config::project::{cloud_host, is_host_label, ProjectConfig};
use crate::error::{CliError, Result};

/// `{"<key>": value}` → value; a bare body is taken as is.
pub fn unwrap(body: Value, key: &str) -> Value {
    match body {
        Value::Object(mut map) if map.get(key).is_some_and(|v| !v.is_null()) => {
            map.remove(key).unwrap_or(Value::Null)
        }
        other => other,
    }
}

/// Words a failed platform answer (`status`, raw body) for the caller's context; `None` leaves
/// it to the general mapping of `api::errors`.
pub type Refine<'a> = &'a dyn Fn(u16, &[u8]) -> Option<CliError>;

/// No refinement: the general mapping.
fn plain(_status: u16, _body: &[u8]) -> Option<CliError> {
    None
}

/// The JSON of a platform answer; a failed one becomes `refine`'s error or the general one.
fn answer_json(answer: crate::api::Answer, refine: Refine) -> Result<Value> {
    if !answer.is_success() {
        if let Some(err) = refine(answer.status, &answer.body) {
            return Err(err);
        }
    }
    answer.into_json(insforge_plugin_api::abi::Target::PLATFORM)
}

/// The `error` and `message` texts of a platform error body, joined (empty when it is not a
/// JSON object).
fn error_text(body: &[u8]) -> String {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    ["error", "message"]
        .iter()
        .filter_map(|k| map.get(*k).and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a 404 names a missing `what` ("Project not found") rather than a missing route
/// ("Endpoint /projects/v1/x not found", which echoes the `route` path).
pub fn names_missing(status: u16, body: &[u8], what: &str, route: &str) -> bool {
    let text = error_text(body).to_lowercase();
    status == 404 && text.contains(what) && text.contains("not found") && !text.contains(route)
}

/// For requests naming an organisation: a 404 naming it becomes "not found" (exit 4) with a
/// pointer to the organisations the user has.
fn unknown_org(org_id: &str) -> impl Fn(u16, &[u8]) -> Option<CliError> + '_ {
    move |status, body| {
        names_missing(status, body, "organization", "/organizations/v1").then(|| {
            CliError::new(
                crate::error::Kind::NotFound,
                format!("Organization {org_id} not found."),
            )
            .with_hint("see your organizations with `insforge list`")
        })
    }
}

fn unexpected(what: &str) -> CliError {
    CliError::general(format!(
        "the platform's answer for {what} has an unexpected shape"
    ))
    .with_hint("check --api-url / INSFORGE_API_URL points at the InsForge platform")
}

fn list(body: Value, key: &str, what: &str) -> Result<Vec<Value>> {
    match unwrap(body, key) {
        Value::Array(items) if items.iter().all(Value::is_object) => Ok(items),
        _ => Err(unexpected(what)),
    }
}

/// A string field, or empty.
pub fn text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// `GET /auth/v1/profile`: the user object.
pub fn profile(env: &Env) -> Result<Value> {
    let body = env.json(Request::platform("GET", "/auth/v1/profile"))?;
    match unwrap(body, "user") {
        user @ Value::Object(_) => Ok(user),
        _ => Err(unexpected("your profile")),
    }
}

/// `GET /organizations/v1`.
pub fn organizations(env: &Env) -> Result<Vec<Value>> {
    let body = env.json(Request::platform("GET", "/organizations/v1"))?;
    list(body, "organizations", "your organizations")
}

fn org_projects_path(org_id: &str) -> String {
    format!("/organizations/v1/{}/projects", encode_component(org_id))
}

/// `GET /organizations/v1/{org}/projects`; an unknown organisation is "not found" (exit 4).
pub fn org_projects(env: &Env, org_id: &str) -> Result<Vec<Value>> {
    let answer = env.send(Request::platform("GET", &org_projects_path(org_id)))?;
    list(
        answer_json(answer, &unknown_org(org_id))?,
        "projects",
        "the organization's projects",
    )
}

/// The projects of several organisations, fetched together; the first failure fails all.
pub fn projects_of_all(env: &Env, org_ids: &[String]) -> Result<Vec<Vec<Value>>> {
    let net = env.net()?;
    let requests: Vec<_> = org_ids
        .iter()
        .map(|id| Request::platform("GET", &org_projects_path(id)).into_raw())
        .collect();
    let answers = net.runtime.block_on(futures_util::future::join_all(
        requests.iter().map(|r| net.client.send(r)),
    ));
    fail_if_interrupted(net)?;
    answers
        .into_iter()
        .map(|answer| {
            let body = answer_json(answer?, &plain)?;
            list(body, "projects", "the organization's projects")
        })
        .collect()
}

/// After requests sent together: a Ctrl-C during them ends the command (exit 130), whatever
/// the answers were.
fn fail_if_interrupted(net: &crate::app::Net) -> Result<()> {
    if net.client.interrupt().is_set() {
        return Err(CliError::new(
            crate::error::Kind::Interrupted,
            "interrupted",
        ));
    }
    Ok(())
}

/// `POST /organizations/v1/{org}/projects`: the new project.
/// An unknown organisation is "not found" (exit 4).
pub fn create_project(env: &Env, org_id: &str, body: &Value) -> Result<Value> {
    let request = Request::platform("POST", &org_projects_path(org_id)).json(body);
    project_object(answer_json(env.send(request)?, &unknown_org(org_id))?)
}

fn project_object(body: Value) -> Result<Value> {
    match unwrap(body, "project") {
        project @ Value::Object(_) => Ok(project),
        _ => Err(unexpected("the project")),
    }
}

fn project_path(project_id: &str) -> String {
    format!("/projects/v1/{}", encode_component(project_id))
}

/// `GET /projects/v1/{id}`.
pub fn project(env: &Env, project_id: &str) -> Result<Value> {
    project_object(env.json(Request::platform("GET", &project_path(project_id)))?)
}

/// `GET /projects/v1/{id}/access-api-key`: the project's `ik_` key.
pub fn access_key(env: &Env, project_id: &str) -> Result<String> {
    let path = format!("{}/access-api-key", project_path(project_id));
    let body = env.json(Request::platform("GET", &path))?;
    body.get("access_api_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| unexpected("the project's API key"))
}

/// A project and its key, fetched together, as a link.
pub fn fetch_link(env: &Env, project_id: &str) -> Result<ProjectConfig> {
    fetch_link_refined(env, project_id, &plain)
}

/// [`fetch_link`], with failed answers worded by `refine` first (the project's answer is
/// looked at before the key's).
pub fn fetch_link_refined(env: &Env, project_id: &str, refine: Refine) -> Result<ProjectConfig> {
    let net = env.net()?;
    let described = Request::platform("GET", &project_path(project_id)).into_raw();
    let key = Request::platform(
        "GET",
        &format!("{}/access-api-key", project_path(project_id)),
    )
    .into_raw();
    let (described, key) = net
        .runtime
        .block_on(async { tokio::join!(net.client.send(&described), net.client.send(&key)) });
    fail_if_interrupted(net)?;
    let project = project_object(answer_json(described?, refine)?)?;
    let key = answer_json(key?, refine)?
        .get("access_api_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| unexpected("the project's API key"))?;
    link_config(&project, key)
}

/// The link file for a cloud project, with the official tool's fields. Its backend host is
/// built from the platform's `appkey` and `region`, so both must be host name labels: anything
/// else (`127.0.0.1:40491/#`) would send the project's key to another host. Refused as an
/// error naming the field.
pub fn link_config(project: &Value, api_key: String) -> Result<ProjectConfig> {
    let appkey = host_label(project, "appkey")?;
    let region = host_label(project, "region")?;
    Ok(ProjectConfig {
        project_id: text(project, "id"),
        project_name: text(project, "name"),
        org_id: text(project, "organization_id"),
        oss_host: cloud_host(&appkey, &region),
        appkey,
        region,
        api_key: Some(api_key),
        extra: Default::default(),
    })
}

/// The project's `field`, checked to be a host name label.
fn host_label(project: &Value, field: &str) -> Result<String> {
    let shown = match project.get(field) {
        Some(Value::String(value)) if is_host_label(value) => return Ok(value.clone()),
        Some(Value::String(value)) => {
            let head: String = value.chars().take(80).collect();
            if head.len() < value.len() {
                format!("{head:?}...")
            } else {
                format!("{head:?}")
            }
        }
        Some(other) => other.to_string().chars().take(80).collect(),
        None => "(missing)".to_owned(),
    };
    let id = text(project, "id");
    let which = if id.is_empty() {
        "the project".to_owned()
    } else {
        format!("project {id}")
    };
    Err(CliError::general(format!(
        "the platform's answer for {which} has an invalid {field} {shown}: the backend's host \
         is built from it, so it must be 1 to 63 lower-case letters, digits or '-'"
    ))
    .with_hint(
        "nothing was written; check --api-url / INSFORGE_API_URL points at the InsForge platform",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrapped_and_bare_answers_read_alike() {
        assert_eq!(
            unwrap(json!({"user": {"id": "u"}}), "user"),
            json!({"id": "u"})
        );
        assert_eq!(unwrap(json!({"id": "u"}), "user"), json!({"id": "u"}));
        assert_eq!(
            unwrap(json!({"user": null, "id": 1}), "user"),
            json!({"user": null, "id": 1})
        );
    }

    #[test]
    fn a_list_of_the_wrong_shape_is_refused() {
        assert!(list(json!({}), "projects", "x").is_err());
        assert!(list(json!({"projects": [1]}), "projects", "x").is_err());
        assert_eq!(
            list(json!([{"id": "a"}]), "projects", "x").unwrap().len(),
            1
        );
    }

    #[test]
    fn a_404_names_a_missing_resource_unless_it_echoes_the_route() {
        let body = br#"{"error":"NOT_FOUND","message":"Project not found"}"#;
        assert!(names_missing(404, body, "project", "/projects/v1"));
        assert!(!names_missing(403, body, "project", "/projects/v1"));
        assert!(!names_missing(
            404,
            body,
            "organization",
            "/organizations/v1"
        ));
        let route = br#"{"error":"NOT_FOUND","message":"Endpoint /projects/v1/x not found"}"#;
        assert!(!names_missing(404, route, "project", "/projects/v1"));
        assert!(!names_missing(
            404,
            b"<html>Not Found</html>",
            "project",
            "/projects/v1"
        ));
        let org = unknown_org("o1");
        let err = org(
            404,
            br#"{"error":"NOT_FOUND","message":"Organization not found"}"#,
        )
        .unwrap();
        assert_eq!(err.kind.exit_code(), 4);
        assert_eq!(err.message, "Organization o1 not found.");
        assert!(org(500, b"{}").is_none());
    }

    #[test]
    fn a_cloud_link_derives_its_host() {
        let project = json!({"id": "p", "name": "n", "organization_id": "o", "appkey": "abc", "region": "us-east"});
        let c = link_config(&project, "ik_1".into()).unwrap();
        assert_eq!(c.oss_host, "https://abc.us-east.insforge.app");
        assert_eq!(c.org_id, "o");
        assert!(!c.is_self_hosted());
    }

    #[test]
    fn a_cloud_link_refuses_an_appkey_or_region_that_is_not_a_host_label() {
        let good = json!({"id": "p", "appkey": "abc", "region": "us-east"});
        for (field, bad) in [
            ("appkey", json!("127.0.0.1:40491/#")),
            ("appkey", json!("")),
            ("appkey", json!(null)),
            ("appkey", json!("ABC")),
            ("region", json!("us-east.evil.example/")),
            ("region", json!("x".repeat(64))),
            ("region", json!(7)),
        ] {
            let mut project = good.clone();
            project[field] = bad.clone();
            let err = link_config(&project, "ik_1".into()).unwrap_err();
            assert_eq!(err.kind.exit_code(), 1, "{field} {bad}");
            assert!(
                err.message.starts_with(&format!(
                    "the platform's answer for project p has an invalid {field} "
                )),
                "{}",
                err.message
            );
        }
        let long = json!({"id": "p", "appkey": "a:".repeat(100), "region": "us-east"});
        let err = link_config(&long, "ik_1".into()).unwrap_err();
        assert!(err.message.contains("\"...:"), "{}", err.message);
    }
}
