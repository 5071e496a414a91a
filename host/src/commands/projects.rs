//! The platform's organisations and projects, as the core commands read them.
//!
//! The platform wraps most answers (`{"user": ...}`, `{"projects": [...]}`); like the official
//! tool we take the wrapper's value when present and the bare body otherwise, but unlike it we
//! check the shape and say what was wrong instead of failing somewhere later.

use insforge_plugin_api::{encode_component, Request};
use serde_json::Value;

use crate::app::Env;
use crate::config::project::ProjectConfig;
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

/// `GET /organizations/v1/{org}/projects`.
pub fn org_projects(env: &Env, org_id: &str) -> Result<Vec<Value>> {
    let body = env.json(Request::platform("GET", &org_projects_path(org_id)))?;
    list(body, "projects", "the organization's projects")
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
    answers
        .into_iter()
        .map(|answer| {
            let answer = answer?;
            if !(200..300).contains(&answer.status) {
                return Err(crate::api::errors::http_error(
                    insforge_plugin_api::abi::Target::PLATFORM,
                    answer.status,
                    &answer.body,
                ));
            }
            let body: Value = serde_json::from_slice(&answer.body)
                .map_err(|e| CliError::general(format!("the server sent invalid JSON: {e}")))?;
            list(body, "projects", "the organization's projects")
        })
        .collect()
}

/// `POST /organizations/v1/{org}/projects`: the new project.
pub fn create_project(env: &Env, org_id: &str, body: &Value) -> Result<Value> {
    let answer = env.json(Request::platform("POST", &org_projects_path(org_id)).json(body))?;
    project_object(answer)
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
    let parse = |answer: crate::api::Answer| -> Result<Value> {
        if !(200..300).contains(&answer.status) {
            return Err(crate::api::errors::http_error(
                insforge_plugin_api::abi::Target::PLATFORM,
                answer.status,
                &answer.body,
            ));
        }
        serde_json::from_slice(&answer.body)
            .map_err(|e| CliError::general(format!("the server sent invalid JSON: {e}")))
    };
    let project = project_object(parse(described?)?)?;
    let key = parse(key?)?
        .get("access_api_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| unexpected("the project's API key"))?;
    Ok(link_config(&project, key))
}

/// The host of a cloud project's backend.
pub fn oss_host(appkey: &str, region: &str) -> String {
    format!("https://{appkey}.{region}.insforge.app")
}

/// The link file for a cloud project, with the official tool's fields.
pub fn link_config(project: &Value, api_key: String) -> ProjectConfig {
    let appkey = text(project, "appkey");
    let region = text(project, "region");
    ProjectConfig {
        project_id: text(project, "id"),
        project_name: text(project, "name"),
        org_id: text(project, "organization_id"),
        oss_host: oss_host(&appkey, &region),
        appkey,
        region,
        api_key: Some(api_key),
        extra: Default::default(),
    }
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
    fn a_cloud_link_derives_its_host() {
        let project = json!({"id": "p", "name": "n", "organization_id": "o", "appkey": "abc", "region": "us-east"});
        let c = link_config(&project, "ik_1".into());
        assert_eq!(c.oss_host, "https://abc.us-east.insforge.app");
        assert_eq!(c.org_id, "o");
        assert!(!c.is_self_hosted());
    }
}
