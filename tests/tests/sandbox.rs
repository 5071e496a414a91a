//! The sandbox against real PostgreSQL: every test gets its own database and its own
//! sandbox, so they run in parallel. Needs `DATABASE_URL` (scripts/test starts a server).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use insforge_tests::sandbox::faults::Fault;
use insforge_tests::sandbox::request_log::KeyCheck;
use insforge_tests::sandbox::{testdb, Sandbox, SandboxConfig, SandboxHandle};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const KEY: &str = "ik_sandbox_test_key";

struct Env {
    sandbox: SandboxHandle,
    http: Client,
}

impl Env {
    async fn new() -> Self {
        Self::with(|config| config).await
    }

    async fn with(adjust: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Self {
        let url = testdb::fresh_database_async(&testdb::admin_url())
            .await
            .expect("fresh database");
        let config = adjust(SandboxConfig::new(KEY).with_database_url(url));
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        Self {
            sandbox,
            http: Client::new(),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, self.sandbox.url(path))
            .bearer_auth(KEY);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON body")
        };
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn sql(&self, query: &str) -> (StatusCode, Value) {
        self.post("/api/database/advance/rawsql", json!({ "query": query }))
            .await
    }

    async fn sql_ok(&self, query: &str) -> Value {
        let (status, body) = self.sql(query).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        body
    }
}

fn error(status: u16, code: &str, message: &str) -> Value {
    json!({ "error": code, "message": message, "statusCode": status })
}

#[tokio::test]
async fn rawsql_values_follow_node_postgres() {
    let env = Env::new().await;
    let ddl = env
        .sql_ok("create table posts (id int primary key, title text not null, done bool, created_at timestamptz, big bigint, price numeric(6,2), meta jsonb, tags text[], score float8)")
        .await;
    assert_eq!(ddl, json!({ "rows": [], "rowCount": null, "fields": [] }));

    let insert = env
        .sql_ok("insert into posts values (1, 'Write contract', false, '2025-06-01T10:00:00Z', 9007199254740993, 12.5, '{\"b\": 1.50, \"a\": null}', '{x,\"y z\"}', 0.1), (2, 'Ship CLI', true, '2025-06-02 11:30:00.123456+00', null, null, null, null, 1e21)")
        .await;
    assert_eq!(insert, json!({ "rows": [], "rowCount": 2, "fields": [] }));

    let select = env.sql_ok("select * from posts order by id").await;
    assert_eq!(
        serde_json::to_string(&select["rows"]).unwrap(),
        r#"[{"id":1,"title":"Write contract","done":false,"created_at":"2025-06-01T10:00:00.000Z","big":"9007199254740993","price":"12.50","meta":{"a":null,"b":1.50},"tags":["x","y z"],"score":0.1},{"id":2,"title":"Ship CLI","done":true,"created_at":"2025-06-02T11:30:00.123Z","big":null,"price":null,"meta":null,"tags":null,"score":1e+21}]"#
    );
    assert_eq!(select["rowCount"], json!(2));
    assert_eq!(
        select["fields"][0],
        json!({ "name": "id", "dataTypeID": 23 })
    );
    assert_eq!(
        select["fields"][3],
        json!({ "name": "created_at", "dataTypeID": 1184 })
    );

    let count = env.sql_ok("select count(*) from posts where false").await;
    assert_eq!(count["rows"], json!([{ "count": "0" }]));

    let updated = env.sql_ok("update posts set done = true").await;
    assert_eq!(updated["rowCount"], json!(2));

    let multi = env.sql_ok("select 1; select 2").await;
    assert_eq!(multi, json!({ "rows": [] }));

    let (status, body) = env
        .post(
            "/api/database/advance/rawsql/unrestricted",
            json!({ "query": "select $1::int + 1 as n, $2::text as t, $3::jsonb as j", "params": [41, "it's", {"k": [1]}] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["rows"],
        json!([{ "n": 42, "t": "it's", "j": { "k": [1] } }])
    );
}

#[tokio::test]
async fn rawsql_guard_and_error_mapping() {
    let env = Env::new().await;
    env.sql_ok("create table posts (id int primary key, title text not null)")
        .await;
    env.sql_ok("create table comments (id int primary key, post_id int references posts(id))")
        .await;
    env.sql_ok("insert into posts values (1, 'a')").await;

    let cases: Vec<(&str, Value)> = vec![
        (
            "BEGIN",
            error(
                403,
                "FORBIDDEN",
                "Transaction control statements are not allowed.",
            ),
        ),
        (
            "select 1; commit",
            error(
                403,
                "FORBIDDEN",
                "Transaction control statements are not allowed.",
            ),
        ),
        (
            "SET ROLE postgres",
            error(
                403,
                "FORBIDDEN",
                "Changing SQL execution role or session authorization is not allowed.",
            ),
        ),
        (
            "CREATE DATABASE nope",
            error(403, "FORBIDDEN", "Query contains restricted operations"),
        ),
        (
            "SELEC 1",
            error(
                403,
                "FORBIDDEN",
                "Query could not be parsed and was rejected for security reasons.",
            ),
        ),
        (
            "select 1; selec 2",
            error(
                403,
                "FORBIDDEN",
                "Query could not be parsed and was rejected for security reasons.",
            ),
        ),
        (
            "select 1/0",
            error(500, "INTERNAL_ERROR", "division by zero"),
        ),
        (
            "select 'x'::int",
            error(
                500,
                "INTERNAL_ERROR",
                "invalid input syntax for type integer: \"x\"",
            ),
        ),
    ];
    for (query, expected) in cases {
        let (status, body) = env.sql(query).await;
        assert_eq!(body, expected, "{query}");
        assert_eq!(
            status.as_u16(),
            expected["statusCode"].as_u64().unwrap() as u16
        );
    }

    let (status, body) = env.sql("insert into posts values (1, 'b')").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "DATABASE_DUPLICATE");
    assert_eq!(body["nextActions"], "A record with this field(id) already exists. You can query the existing record by using the query tool and then try again.");

    let (status, body) = env.sql("select * from missing_table").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "DATABASE_VALIDATION_ERROR");
    assert_eq!(body["message"], "relation \"missing_table\" does not exist");

    let (_, body) = env.sql("select nope from posts").await;
    assert_eq!(body["error"], "DATABASE_VALIDATION_ERROR");
    let (_, body) = env.sql("insert into posts (id) values (2)").await;
    assert_eq!(body["error"], "MISSING_FIELD");
    let (_, body) = env.sql("insert into comments values (1, 99)").await;
    assert_eq!(body["error"], "DATABASE_CONSTRAINT_VIOLATION");

    let (status, body) = env
        .post("/api/database/advance/rawsql", json!({ "query": "" }))
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            error(400, "INVALID_INPUT", "query: Query is required")
        )
    );

    // The root endpoint may create databases; the project-admin one may not.
    let (status, _) = env
        .post(
            "/api/database/advance/rawsql/unrestricted",
            json!({ "query": "SET ROLE postgres" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn statement_timeout_is_reported_like_the_backend() {
    let env = Env::with(|c| c.with_statement_timeout(Duration::from_millis(200))).await;
    let (status, body) = env.sql("select pg_sleep(5)").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body["message"],
        "Query timeout: The query took longer than 30 seconds to execute"
    );
}

#[tokio::test]
async fn routes_auth_and_json_checks_come_in_the_backend_order() {
    let env = Env::new().await;
    let raw = |method: Method, path: &str| env.http.request(method, env.sandbox.url(path));

    // Unknown routes and wrong methods: 404 before auth, with the query in the message.
    for (method, path) in [
        (Method::GET, "/api/nope?x=1"),
        (Method::GET, "/api/database/advance/rawsql"),
        (Method::DELETE, "/api/database/tables"),
    ] {
        let response = raw(method, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "NOT_FOUND");
        assert_eq!(body["message"], format!("Endpoint {path} not found"));
        assert_eq!(
            body["nextActions"],
            "Please check the API documentation for available endpoints"
        );
    }

    // Malformed JSON: 400 before routing and auth.
    let response = raw(Method::POST, "/api/nope")
        .header("content-type", "application/json")
        .body("{x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error": "INVALID_INPUT",
            "message": "Expected property name or '}' in JSON at position 1",
            "statusCode": 400,
            "nextActions": "Please ensure your request body contains valid JSON",
        })
    );

    let check = |builder: reqwest::RequestBuilder, expected: Value| async move {
        let response = builder.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, expected);
    };
    check(
        raw(Method::GET, "/api/database/tables"),
        json!({"error":"AUTH_INVALID_CREDENTIALS","message":"No admin token provided","statusCode":401,"nextActions":"Check the token is valid or login to get a new token."}),
    ).await;
    check(
        raw(Method::GET, "/api/database/tables").bearer_auth("ik_wrong"),
        json!({"error":"AUTH_INVALID_API_KEY","message":"Invalid API key","statusCode":401,"nextActions":"Check the API key is valid or generate a new API key."}),
    ).await;
    check(
        raw(Method::GET, "/api/database/tables").bearer_auth("eyJhbGciOi"),
        error(401, "AUTH_UNAUTHORIZED", "Invalid token"),
    )
    .await;

    let response = raw(Method::POST, "/api/usage/mcp")
        .header("x-api-key", KEY)
        .json(&json!({ "tool_name": "cli.db.query", "success": true, "timestamp": "2025-01-01T00:00:00.000Z" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "success": true })
    );
}

#[tokio::test]
async fn listings_have_the_backend_shapes() {
    let env = Env::new().await;
    env.sql_ok(
        "create extension if not exists pgcrypto;
         create table profiles (id int primary key);
         create table comments (id int primary key, post_id int);
         create table posts (id int primary key, title text, author_id int);
         create view post_titles as select title from posts;
         create index idx_comments_post_id on comments (post_id);
         alter table posts enable row level security;
         create policy posts_select_public on posts for select to public using (true);
         create function get_post_count() returns integer language sql as $$ select count(*)::int from posts $$;
         create function touch() returns trigger language plpgsql as $$ begin return new; end $$;
         create trigger set_updated_at before update on posts for each row execute function touch();",
    )
    .await;

    assert_eq!(
        env.get("/api/database/tables").await.1,
        json!(["comments", "posts", "profiles"])
    );
    assert_eq!(
        env.get("/api/database/tables?schema=nowhere").await.1,
        json!([])
    );

    let (_, indexes) = env.get("/api/database/indexes").await;
    assert_eq!(
        indexes["indexes"][0],
        json!({
            "tableName": "comments",
            "indexName": "comments_pkey",
            "indexDef": "CREATE UNIQUE INDEX comments_pkey ON public.comments USING btree (id)",
            "isUnique": true,
            "isPrimary": true,
        })
    );
    assert_eq!(indexes["indexes"][1]["indexName"], "idx_comments_post_id");
    assert_eq!(
        env.get("/api/database/indexes?schema=nowhere").await.1,
        json!({ "indexes": [] })
    );

    let (_, policies) = env.get("/api/database/policies").await;
    assert_eq!(
        policies,
        json!({ "policies": [{
            "tableName": "posts", "policyName": "posts_select_public", "cmd": "SELECT",
            "roles": "{public}", "qual": "true", "withCheck": null,
        }]})
    );

    let (_, triggers) = env.get("/api/database/triggers").await;
    assert_eq!(
        triggers,
        json!({ "triggers": [{
            "tableName": "posts", "triggerName": "set_updated_at", "actionTiming": "BEFORE",
            "eventManipulation": "UPDATE", "actionOrientation": "ROW", "actionCondition": null,
            "actionStatement": "EXECUTE FUNCTION touch()",
        }]})
    );

    let (_, functions) = env.get("/api/database/functions").await;
    let names: Vec<&str> = functions["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["functionName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["get_post_count", "touch"],
        "extension functions are left out"
    );
    assert_eq!(functions["functions"][0]["kind"], "f");
    assert!(functions["functions"][0]["functionDef"]
        .as_str()
        .unwrap()
        .starts_with("CREATE OR REPLACE FUNCTION public.get_post_count()"));
}

#[tokio::test]
async fn rpc_calls_functions_like_postgrest() {
    let env = Env::new().await;
    env.sql_ok(
        "create table posts (id int primary key, title text);
         insert into posts values (1, 'Write contract'), (2, 'Ship CLI');
         create function answer() returns int language sql as $$ select 42 $$;
         create function add(a int, b int default 1) returns int language sql as $$ select a + b $$;
         create function list_posts() returns table (id int, title text) language sql as $$ select id, title from posts order by id $$;
         create function first_post() returns posts language sql as $$ select * from posts order by id limit 1 $$;
         create function ids() returns setof int language sql as $$ select id from posts order by id $$;
         create function echo(jsonb) returns jsonb language sql as $$ select $1 $$;
         create function nothing() returns void language sql as $$ select $$;
         create function fail() returns int language plpgsql as $$ begin raise exception 'nope'; end $$;",
    )
    .await;

    assert_eq!(
        env.get("/api/database/rpc/answer").await,
        (StatusCode::OK, json!(42))
    );
    assert_eq!(
        env.post("/api/database/rpc/add", json!({ "a": 41 })).await,
        (StatusCode::OK, json!(42))
    );
    assert_eq!(
        env.get("/api/database/rpc/add?a=1&b=2").await,
        (StatusCode::OK, json!(3))
    );
    assert_eq!(
        env.post("/api/database/rpc/list_posts", json!({})).await,
        (
            StatusCode::OK,
            json!([{ "id": 1, "title": "Write contract" }, { "id": 2, "title": "Ship CLI" }])
        )
    );
    assert_eq!(
        env.get("/api/database/rpc/first_post").await.1,
        json!({ "id": 1, "title": "Write contract" })
    );
    assert_eq!(env.get("/api/database/rpc/ids").await.1, json!([1, 2]));
    assert_eq!(
        env.post("/api/database/rpc/echo", json!({ "x": [1] }))
            .await
            .1,
        json!({ "x": [1] })
    );
    assert_eq!(
        env.get("/api/database/rpc/nothing").await,
        (StatusCode::NO_CONTENT, Value::Null)
    );

    let (status, body) = env.get("/api/database/rpc/missing_fn").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({
            "code": "PGRST202",
            "details": "Searched for the function public.missing_fn without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
            "hint": null,
            "message": "Could not find the function public.missing_fn without parameters in the schema cache",
        })
    );
    let (status, body) = env
        .post("/api/database/rpc/add", json!({ "c": 1, "a": 2 }))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"],
        "Could not find the function public.add(a, c) in the schema cache"
    );

    let (status, body) = env.get("/api/database/rpc/fail").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "P0001");
    assert_eq!(body["message"], "nope");

    let (status, body) = env.get("/api/database/rpc/a%22b").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "Invalid function name: cannot contain quotes or control characters"
    );
    let (_, body) = env.get("/api/database/rpc/%20").await;
    assert_eq!(body["message"], "Invalid function name: cannot be empty");
}

#[tokio::test]
async fn export_writes_sql_and_json() {
    let env = Env::new().await;
    env.sql_ok(
        "create table posts (id integer not null, title text not null);
         alter table posts add primary key (id);
         create policy posts_select_public on posts for select to anon, authenticated using (true);
         insert into posts values (1, 'Write contract'), (2, 'Ship CLI'), (3, 'It''s done');",
    )
    .await;

    let (status, body) = env
        .post(
            "/api/database/advance/export",
            json!({ "format": "sql", "includeData": true, "rowLimit": 2 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let timestamp = body["timestamp"].as_str().unwrap().to_owned();
    assert_eq!(body["data"].as_str().unwrap(), format!(
        "-- Database Export\n-- Generated on: {timestamp}\n-- Format: SQL\n-- Include Data: true\n-- Row Limit: 2 rows per table\n\n\
         -- Table: posts\nCREATE TABLE IF NOT EXISTS posts (id integer NOT NULL, title text NOT NULL);\n\n\
         -- RLS policies for table: posts\nCREATE POLICY posts_select_public ON posts FOR SELECT TO anon, authenticated USING (true);\n\n\
         -- WARNING: Table contains 3 rows, but only 2 rows exported due to row limit\n\
         -- Data for table: posts\nINSERT INTO posts (id, title) VALUES (1, 'Write contract');\nINSERT INTO posts (id, title) VALUES (2, 'Ship CLI');\n\n"
    ));
    assert_eq!(body["truncatedTables"], json!(["posts"]));
    assert_eq!(body["rowLimit"], json!(2));
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["format", "data", "timestamp", "truncatedTables", "rowLimit"]
    );

    let (_, body) = env
        .post(
            "/api/database/advance/export",
            json!({ "format": "json", "tables": ["posts"] }),
        )
        .await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["format", "data", "timestamp"]);
    let posts = &body["data"]["tables"]["posts"];
    assert_eq!(
        posts["schema"][0],
        json!({ "columnName": "id", "dataType": "integer", "characterMaximumLength": null, "isNullable": "NO", "columnDefault": null })
    );
    assert_eq!(posts["policies"][0]["roles"], "{anon,authenticated}");
    assert_eq!(posts["rows"][2], json!({ "id": 3, "title": "It's done" }));
    assert_eq!(posts["rlsEnabled"], json!(false));
    assert_eq!(body["data"]["functions"], json!([]));

    let (status, body) = env
        .post(
            "/api/database/advance/export",
            json!({ "tables": ["missing"] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "relation \"missing\" does not exist");
    let (_, body) = env
        .post("/api/database/advance/export", json!({ "format": "csv" }))
        .await;
    assert_eq!(
        body["message"],
        "format: Invalid enum value. Expected 'sql' | 'json', received 'csv'"
    );
    let (_, body) = env
        .post("/api/database/advance/export", json!({ "rowLimit": null }))
        .await;
    assert_eq!(body["message"], "rowLimit: Expected number, received null");
}

async fn import(
    env: &Env,
    part: &str,
    filename: &str,
    sql: &str,
    truncate: bool,
) -> (StatusCode, Value) {
    let file = reqwest::multipart::Part::bytes(sql.as_bytes().to_vec())
        .file_name(filename.to_owned())
        .mime_str("application/octet-stream")
        .unwrap();
    let mut form = reqwest::multipart::Form::new().part(part.to_owned(), file);
    if truncate {
        form = form.text("truncate", "true");
    }
    let response = env
        .http
        .post(env.sandbox.url("/api/database/advance/import"))
        .bearer_auth(KEY)
        .multipart(form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn import_runs_files_in_one_transaction() {
    let env = Env::new().await;
    let seed = "create table posts (id int primary key, title text);\n-- rows\ninsert into posts values (1, 'a;b'), (2, 'c');\nINSERT INTO posts VALUES (3, null);\n";
    let (status, body) = import(&env, "file", "seed.sql", seed, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({
            "success": true, "message": "SQL file imported successfully", "filename": "seed.sql",
            "tables": ["posts"], "rowsImported": 3, "fileSize": seed.len(),
        })
    );

    // A failing statement rolls back the whole file.
    let (status, body) = import(
        &env,
        "file",
        "more.txt",
        "insert into posts values (4, 'x');\ninsert into posts values (1, 'dup');",
        false,
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            error(
                400,
                "INVALID_INPUT",
                "Import failed: duplicate key value violates unique constraint \"posts_pkey\""
            )
        )
    );
    assert_eq!(
        env.sql_ok("select count(*) from posts").await["rows"],
        json!([{ "count": "3" }])
    );

    let (status, body) = import(
        &env,
        "file",
        "again.sql",
        "insert into posts values (1, 'fresh');",
        true,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        env.sql_ok("select title from posts").await["rows"],
        json!([{ "title": "fresh" }])
    );

    assert_eq!(
        import(&env, "file", "seed.csv", seed, false).await.1,
        error(400, "INVALID_INPUT", "Only .sql/.txt files are allowed")
    );
    assert_eq!(
        import(&env, "upload", "seed.sql", seed, false).await.1,
        error(400, "STORAGE_INVALID_PARAMETER", "Unexpected field")
    );
    assert_eq!(
        import(&env, "file", "bad.sql", "SELEC 1;", false).await.1,
        error(
            403,
            "FORBIDDEN",
            "Query could not be parsed and was rejected for security reasons."
        )
    );
    assert_eq!(
        import(&env, "file", "tx.sql", "BEGIN; select 1; COMMIT;", false)
            .await
            .1,
        error(
            403,
            "FORBIDDEN",
            "Transaction control statements are not allowed."
        )
    );
    assert_eq!(
        env.post("/api/database/advance/import", json!({})).await.1,
        error(400, "INVALID_INPUT", "SQL file is required")
    );

    // What export writes, import reads back.
    let (_, exported) = env.post("/api/database/advance/export", json!({})).await;
    env.sql_ok("drop table posts").await;
    let (status, body) = import(
        &env,
        "file",
        "export.sql",
        exported["data"].as_str().unwrap(),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rowsImported"], json!(1));
}

#[tokio::test]
async fn faults_script_answers_delays_and_dropped_connections() {
    let env = Env::with(|c| {
        c.with_faults(vec![Fault::answer(
            "/api/database/tables",
            503,
            json!({ "error": "DOWN" }),
        )
        .times(Some(2))])
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            env.get("/api/database/tables").await,
            (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": "DOWN" }))
        );
    }
    assert_eq!(
        env.get("/api/database/tables").await,
        (StatusCode::OK, json!([]))
    );

    // Through the control route: a text body with a header, for POST only.
    let response = env
        .http
        .post(env.sandbox.url("/_sandbox/faults"))
        .json(&json!([{ "method": "POST", "path": "/api/usage/mcp", "status": 418, "body": "teapot", "headers": { "x-fault": "yes" } }]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = env
        .http
        .post(env.sandbox.url("/api/usage/mcp"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 418);
    assert_eq!(response.headers()["x-fault"], "yes");
    assert_eq!(response.text().await.unwrap(), "teapot");

    env.sandbox
        .add_fault(Fault::drop_connection("/api/database/tables"));
    let dropped = env
        .http
        .get(env.sandbox.url("/api/database/tables"))
        .bearer_auth(KEY)
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "the connection is closed without an answer"
    );

    // A delay without a status passes the request on.
    env.sandbox.add_fault(
        Fault {
            status: None,
            body: None,
            ..Fault::answer("/api/database/tables", 0, Value::Null)
        }
        .delay(Duration::from_millis(300)),
    );
    let started = std::time::Instant::now();
    assert_eq!(env.get("/api/database/tables").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    env.sandbox
        .add_fault(Fault::answer("/api/database/tables", 500, json!({})).times(None));
    let response = env
        .http
        .delete(env.sandbox.url("/_sandbox/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(env.get("/api/database/tables").await.0, StatusCode::OK);
}

#[tokio::test]
async fn request_log_records_what_arrived() {
    let env = Env::new().await;
    let body = "{\"query\":\"select 'é'\"}";
    env.http
        .post(env.sandbox.url("/api/database/advance/rawsql?x=1"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    env.http
        .get(env.sandbox.url("/api/database/tables"))
        .header("x-api-key", "ik_nope")
        .send()
        .await
        .unwrap();
    env.http
        .put(env.sandbox.url("/api/nothing"))
        .body(vec![0xff_u8, 0x00])
        .send()
        .await
        .unwrap();

    let log: Value = env
        .http
        .get(env.sandbox.url("/_sandbox/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3, "control routes are not logged: {log:?}");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/api/database/advance/rawsql?x=1");
    assert_eq!(log[0]["headers"]["authorization"], "Bearer ***");
    assert_eq!(log[0]["api_key"], "valid");
    assert_eq!(log[0]["body"], body);
    assert_eq!(log[0]["body_len"], json!(body.len()));
    assert_eq!(log[0]["status"], json!(200));
    assert_eq!(log[1]["headers"]["x-api-key"], "***");
    assert_eq!(log[1]["api_key"], "invalid");
    assert_eq!(log[2]["body_base64"], "/wA=");
    assert_eq!(log[2]["status"], json!(404));

    let requests = env.sandbox.requests();
    assert_eq!(requests[2].api_key, KeyCheck::Missing);
    env.http
        .delete(env.sandbox.url("/_sandbox/requests"))
        .send()
        .await
        .unwrap();
    assert!(env.sandbox.requests().is_empty());
}

#[tokio::test]
async fn without_a_database_the_db_routes_answer_500() {
    let sandbox = Sandbox::start(SandboxConfig::new(KEY)).await.unwrap();
    let response = Client::new()
        .get(sandbox.url("/api/database/tables"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "INTERNAL_ERROR");
    assert!(body["message"].as_str().unwrap().contains("DATABASE_URL"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_upload_cap_get_413() {
    let env = Env::with(|c| c.with_max_upload(1024 * 1024)).await;
    // Big enough that the client is still sending when the answer comes.
    let body = vec![b'x'; 8 * 1024 * 1024];
    let response = env
        .http
        .post(env.sandbox.url("/api/database/advance/import"))
        .bearer_auth(KEY)
        .body(body)
        .send()
        .await
        .expect("an answer, not a reset connection");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        error(413, "INTERNAL_ERROR", "request entity too large")
    );
    assert_eq!(env.sandbox.requests()[0].status, Some(413));

    // Within the cap, a body arrives whole.
    let (status, _) = env
        .post(
            "/api/usage/mcp",
            json!({ "tool_name": "x".repeat(512 * 1024) }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(env.sandbox.requests()[1].body_len, 512 * 1024 + 16);
}

#[test]
fn spawned_sandbox_serves_synchronous_callers() {
    let sandbox = Sandbox::spawn(SandboxConfig::new(KEY)).unwrap();
    let url = sandbox.url("/api/nope");
    let status = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { Client::new().get(url).send().await.unwrap().status() })
    })
    .join()
    .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    sandbox.stop();
}

#[test]
fn the_binary_prints_its_url_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_insforge-sandbox"))
        .args(["--port", "0", "--api-key", KEY])
        .env("DATABASE_URL", testdb::admin_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on http://127.0.0.1:")
        .map(|port| format!("http://127.0.0.1:{port}"));
    let Some(base) = base else {
        let _ = child.kill();
        panic!("unexpected first line: {line:?}");
    };

    let body: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            Client::new()
                .post(format!("{base}/api/database/advance/rawsql"))
                .bearer_auth(KEY)
                .json(&json!({ "query": "select 1 as one" }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
    assert_eq!(body["rows"], json!([{ "one": 1 }]));

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "nothing but the first line on stdout");
}
