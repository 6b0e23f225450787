//! The permission matrix of SIF's access management (spec §2.4), over HTTP: a reader, a
//! contributor and an admin of `/t/m` call every endpoint with the group in context set to their
//! own group, its parent, its child and its sibling.

use reqwest::Method;
use serde_json::json;

use crate::support::{Options, TestServer, servers};

const OWN: &str = "/t/m";
const ANCESTOR: &str = "/t";
const DESCENDANT: &str = "/t/m/d";
const SIBLING: &str = "/t/s";
const CONTEXTS: [&str; 4] = [OWN, ANCESTOR, DESCENDANT, SIBLING];
const ROLES: [&str; 3] = ["reader", "contributor", "admin"];

/// An endpoint and the status each role gets in each context, in the order of `ROLES` and
/// `CONTEXTS` (own, ancestor, descendant, sibling). Derived from the rules of spec §2.4: the
/// role in the group in context decides, and a role at `/t/m` covers `/t/m/d` but neither `/t`
/// nor `/t/s`.
struct Row {
    endpoint: Endpoint,
    expected: [[u16; 4]; 3],
}

#[derive(Clone, Copy, Debug)]
enum Endpoint {
    CreateGroup,
    ListGroups,
    GetContextGroup,
    /// A child of the group in context: from `/t` that is the caller's own `/t/m`.
    GetChildGroup,
    UpdateContextGroup,
    DeleteChildGroup,
    CreateUser,
    ListUsers,
    GetUser,
    TagUser,
    DisableUser,
    RevokeUser,
    ListTags,
    CreateActivity,
    ListActivities,
    GetActivity,
    UpdateActivity,
    ListActivityVersions,
    /// To the child of the group in context (see `child_of`).
    GrantActivity,
    RevokeActivity,
    DeleteActivity,
    PutImpact,
    ListImpacts,
    DeleteImpact,
    ListActivityTags,
    CreateActivityTask,
    ListActivityTasks,
    GetActivityTask,
    ListTaskItems,
    DeleteActivityTask,
    /// The calculations and pipelines modules: `(module, resource)` of `pipeline_module_case`.
    Create(&'static str, &'static str),
    Get(&'static str, &'static str),
    Update(&'static str, &'static str),
    Grant(&'static str, &'static str),
    Delete(&'static str, &'static str),
    ListPipelineTags,
    /// `GET /referenceDatasets/referenceDatasets/{id}/<file>` (`data`, `index`) of a dataset
    /// made in the group in context.
    DatasetFile(&'static str),
}

const READ: [[u16; 4]; 3] = [
    [200, 403, 200, 403],
    [200, 403, 200, 403],
    [200, 403, 200, 403],
];

fn rows() -> Vec<Row> {
    use Endpoint::*;
    let mut rows = vec![
        Row {
            endpoint: CreateGroup,
            expected: [[403; 4], [403; 4], [201, 403, 201, 403]],
        },
        Row {
            endpoint: ListGroups,
            expected: READ,
        },
        Row {
            endpoint: GetContextGroup,
            expected: READ,
        },
        Row {
            endpoint: GetChildGroup,
            expected: [
                [200, 200, 200, 403],
                [200, 200, 200, 403],
                [200, 200, 200, 403],
            ],
        },
        Row {
            endpoint: UpdateContextGroup,
            expected: [[403; 4], [403; 4], [200, 403, 200, 403]],
        },
        Row {
            endpoint: DeleteChildGroup,
            expected: [[403; 4], [403; 4], [204, 403, 204, 403]],
        },
        Row {
            endpoint: CreateUser,
            expected: [[403; 4], [403; 4], [201, 403, 201, 403]],
        },
        Row {
            endpoint: ListUsers,
            expected: READ,
        },
        Row {
            endpoint: GetUser,
            expected: READ,
        },
        Row {
            endpoint: TagUser,
            expected: [
                [204, 403, 204, 403],
                [204, 403, 204, 403],
                [204, 403, 204, 403],
            ],
        },
        Row {
            endpoint: DisableUser,
            expected: [[403; 4], [403; 4], [204, 403, 204, 403]],
        },
        Row {
            endpoint: RevokeUser,
            expected: [[403; 4], [403; 4], [204, 403, 204, 403]],
        },
        Row {
            endpoint: ListTags,
            expected: READ,
        },
        Row {
            endpoint: CreateActivity,
            expected: CONTRIBUTE_201,
        },
        Row {
            endpoint: ListActivities,
            expected: READ,
        },
        Row {
            endpoint: GetActivity,
            expected: READ,
        },
        Row {
            endpoint: UpdateActivity,
            expected: [[403; 4], [200, 403, 200, 403], [200, 403, 200, 403]],
        },
        Row {
            endpoint: ListActivityVersions,
            expected: READ,
        },
        Row {
            endpoint: GrantActivity,
            expected: ADMIN_204,
        },
        Row {
            endpoint: RevokeActivity,
            expected: ADMIN_204,
        },
        Row {
            endpoint: DeleteActivity,
            expected: ADMIN_204,
        },
        Row {
            endpoint: PutImpact,
            expected: CONTRIBUTE_201,
        },
        Row {
            endpoint: ListImpacts,
            expected: READ,
        },
        Row {
            endpoint: DeleteImpact,
            expected: ADMIN_204,
        },
        Row {
            endpoint: ListActivityTags,
            expected: READ,
        },
        Row {
            endpoint: CreateActivityTask,
            expected: CONTRIBUTE_201,
        },
        Row {
            endpoint: ListActivityTasks,
            expected: READ,
        },
        Row {
            endpoint: GetActivityTask,
            expected: READ,
        },
        Row {
            endpoint: ListTaskItems,
            expected: READ,
        },
        Row {
            endpoint: DeleteActivityTask,
            expected: ADMIN_204,
        },
    ];
    for (module, resource) in PIPELINE_MODULE_RESOURCES {
        rows.extend([
            Row {
                endpoint: Create(module, resource),
                expected: CONTRIBUTE_201,
            },
            Row {
                endpoint: Get(module, resource),
                expected: READ,
            },
            Row {
                endpoint: Update(module, resource),
                expected: [[403; 4], [200, 403, 200, 403], [200, 403, 200, 403]],
            },
            Row {
                endpoint: Grant(module, resource),
                expected: ADMIN_204,
            },
            Row {
                endpoint: Delete(module, resource),
                expected: ADMIN_204,
            },
        ]);
    }
    rows.push(Row {
        endpoint: ListPipelineTags,
        expected: READ,
    });
    for file in ["data", "index"] {
        rows.push(Row {
            endpoint: DatasetFile(file),
            expected: READ,
        });
    }
    rows
}

/// Creating resources needs a contributor; deleting and sharing them an admin (spec §2.4).
const CONTRIBUTE_201: [[u16; 4]; 3] = [[403; 4], [201, 403, 201, 403], [201, 403, 201, 403]];
const ADMIN_204: [[u16; 4]; 3] = [[403; 4], [403; 4], [204, 403, 204, 403]];

/// The child of each context that `GetChildGroup` reads.
fn child_of(context: &str) -> &'static str {
    match context {
        OWN => "/t/m/d",
        ANCESTOR => "/t/m",
        DESCENDANT => "/t/m/d/e",
        _ => "/t/s/c",
    }
}

fn encoded(group: &str) -> String {
    group.replace('/', "%2F")
}

/// Runs one case; returns the status and whether what a refused change would have made exists.
async fn run(
    server: &TestServer,
    root: &str,
    token: &str,
    context: &str,
    endpoint: Endpoint,
    n: usize,
) -> (u16, bool) {
    use Endpoint::*;
    let ctx = Some(context);
    let call = |method: Method, path: String, body: Option<serde_json::Value>| async move {
        server
            .call(method, &path, token, ctx, body)
            .await
            .status
            .as_u16()
    };
    let fixture_user = format!("fixture{n}@example.com");
    match endpoint {
        CreateGroup => {
            let status = call(
                Method::POST,
                "/accessManagement/groups".into(),
                Some(json!({"name": format!("new{n}")})),
            )
            .await;
            let created = format!("{}/new{n}", context);
            let exists = server
                .call(
                    Method::GET,
                    &format!("/accessManagement/groups/{}", encoded(&created)),
                    root,
                    ctx,
                    None,
                )
                .await;
            (status, exists.status == 200)
        }
        ListGroups => (
            call(Method::GET, "/accessManagement/groups".into(), None).await,
            false,
        ),
        GetContextGroup => (
            call(
                Method::GET,
                format!("/accessManagement/groups/{}", encoded(context)),
                None,
            )
            .await,
            false,
        ),
        GetChildGroup => (
            call(
                Method::GET,
                format!("/accessManagement/groups/{}", encoded(child_of(context))),
                None,
            )
            .await,
            false,
        ),
        UpdateContextGroup => {
            let body = json!({"description": format!("changed by case {n}")});
            (
                call(
                    Method::PATCH,
                    format!("/accessManagement/groups/{}", encoded(context)),
                    Some(body),
                )
                .await,
                false,
            )
        }
        DeleteChildGroup => {
            let doomed = format!("{context}/doomed{n}");
            server.group(root, &doomed).await;
            let path = format!("/accessManagement/groups/{}", encoded(&doomed));
            let disabled = server
                .call(
                    Method::PATCH,
                    &path,
                    root,
                    ctx,
                    Some(json!({"state": "disabled"})),
                )
                .await;
            assert_eq!(disabled.status, 200, "disable {doomed}: {}", disabled.body);
            (call(Method::DELETE, path, None).await, false)
        }
        CreateUser => {
            let body = json!({"email": fixture_user, "role": "reader"});
            let status = call(Method::POST, "/accessManagement/users".into(), Some(body)).await;
            let exists = server
                .call(
                    Method::GET,
                    &format!("/accessManagement/users/{fixture_user}"),
                    root,
                    Some("/"),
                    None,
                )
                .await;
            (status, exists.status == 200)
        }
        ListUsers => (
            call(Method::GET, "/accessManagement/users".into(), None).await,
            false,
        ),
        GetUser | TagUser | DisableUser | RevokeUser => {
            server
                .user(root, &fixture_user, context, "reader", None)
                .await;
            let path = format!("/accessManagement/users/{fixture_user}");
            let status = match endpoint {
                GetUser => call(Method::GET, path, None).await,
                TagUser => {
                    call(
                        Method::PATCH,
                        path,
                        Some(json!({"tags": {"case": n.to_string()}})),
                    )
                    .await
                }
                DisableUser => call(Method::PATCH, path, Some(json!({"state": "disabled"}))).await,
                _ => call(Method::DELETE, path, None).await,
            };
            (status, false)
        }
        ListTags => (
            call(
                Method::GET,
                "/accessManagement/tags/kind?resourceType=group".into(),
                None,
            )
            .await,
            false,
        ),
        CreateActivity | ListActivities | GetActivity | UpdateActivity | ListActivityVersions
        | GrantActivity | RevokeActivity | DeleteActivity | PutImpact | ListImpacts
        | DeleteImpact | ListActivityTags | CreateActivityTask | ListActivityTasks
        | GetActivityTask | ListTaskItems | DeleteActivityTask => {
            run_activity(server, root, token, context, endpoint, n).await
        }
        Create(..) | Get(..) | Update(..) | Grant(..) | Delete(..) | ListPipelineTags => {
            pipeline_module_case(server, root, token, context, endpoint, n).await
        }
        DatasetFile(file) => dataset_file_case(server, root, token, context, file, n).await,
    }
}

#[tokio::test]
async fn the_role_in_the_group_in_context_decides() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        for group in ["/t", "/t/m", "/t/m/d", "/t/m/d/e", "/t/s", "/t/s/c"] {
            server.group(&root, group).await;
        }
        let mut callers = Vec::new();
        for role in ROLES {
            let email = format!("{role}@example.com");
            server
                .user(&root, &email, OWN, role, Some("caller-pass1"))
                .await;
            callers.push(server.login(&email, "caller-pass1").await);
        }

        let mut mismatches = Vec::new();
        let mut cases = 0;
        for row in rows() {
            for (r, role) in ROLES.iter().enumerate() {
                for (c, context) in CONTEXTS.iter().enumerate() {
                    cases += 1;
                    let (status, stored) =
                        run(&server, &root, &callers[r], context, row.endpoint, cases).await;
                    let expected = row.expected[r][c];
                    if status != expected {
                        mismatches.push(format!(
                            "{:?} as {role} in {context}: {status}, expected {expected}",
                            row.endpoint
                        ));
                    }
                    if status == 403 && stored {
                        mismatches.push(format!(
                            "{:?} as {role} in {context}: refused but stored",
                            row.endpoint
                        ));
                    }
                }
            }
        }
        assert_eq!(cases, rows().len() * 12);
        assert!(
            mismatches.is_empty(),
            "{}: {} of {cases} cases differ:\n{}",
            server.backend,
            mismatches.len(),
            mismatches.join("\n")
        );
        server.finish().await;
    }
}

#[tokio::test]
async fn passwords_are_changed_by_their_owner_only() {
    for server in servers(Options::default()).await {
        let root = server.admin_token().await;
        server.group(&root, "/p").await;
        server
            .user(
                &root,
                "owner@example.com",
                "/p",
                "reader",
                Some("owner-pass1"),
            )
            .await;
        server
            .user(&root, "boss@example.com", "/p", "admin", Some("boss-pass1"))
            .await;
        let owner = server.login("owner@example.com", "owner-pass1").await;
        let boss = server.login("boss@example.com", "boss-pass1").await;
        let path = "/accessManagement/users/owner@example.com";

        let by_admin = server
            .call(
                Method::PATCH,
                path,
                &boss,
                None,
                Some(json!({"password": "taken-over1"})),
            )
            .await;
        assert_eq!(
            (by_admin.status.as_u16(), by_admin.message()),
            (403, "User's may only update their own password.")
        );
        let own_state = server
            .call(
                Method::PATCH,
                path,
                &owner,
                None,
                Some(json!({"state": "active"})),
            )
            .await;
        assert_eq!(
            (own_state.status.as_u16(), own_state.message()),
            (403, "User's may only update the state of other user.")
        );
        let own = server
            .call(
                Method::PATCH,
                path,
                &owner,
                None,
                Some(json!({"password": "renewed-pass2"})),
            )
            .await;
        assert_eq!(own.status, 204, "{}: {}", server.backend, own.body);
        assert_eq!(
            server
                .login_reply("owner@example.com", "owner-pass1", None)
                .await
                .status,
            401
        );
        server.login("owner@example.com", "renewed-pass2").await;
        server.finish().await;
    }
}

/// The activity and activity-task cases: fixtures are made by the root admin in the group in
/// context.
async fn run_activity(
    server: &TestServer,
    root: &str,
    token: &str,
    context: &str,
    endpoint: Endpoint,
    n: usize,
) -> (u16, bool) {
    use Endpoint::*;
    let ctx = Some(context);
    let call = |method: Method, path: String, body: Option<serde_json::Value>| async move {
        server
            .call(method, &path, token, ctx, body)
            .await
            .status
            .as_u16()
    };
    let as_root = |method: Method, path: String, body: Option<serde_json::Value>| async move {
        server.call(method, &path, root, ctx, body).await
    };
    let name = format!("perm{n}");
    let fixture = |name: String| async move {
        let body = json!({"name": name, "impacts": {"e": {"name": "e"}}, "tags": {"case": name}});
        let created = as_root(Method::POST, "/impacts/activities".into(), Some(body)).await;
        assert_eq!(created.status, 201, "fixture: {}", created.body);
        format!(
            "/impacts/activities/{}",
            created.body["id"].as_str().expect("id")
        )
    };
    let task = || async {
        let body = json!({"type": "create", "activities": [{"name": format!("task{n}")}]});
        let created = as_root(Method::POST, "/impacts/activityTasks".into(), Some(body)).await;
        assert_eq!(created.status, 201, "fixture: {}", created.body);
        format!(
            "/impacts/activityTasks/{}",
            created.body["id"].as_str().expect("id")
        )
    };
    match endpoint {
        CreateActivity => {
            let body = json!({"name": name});
            let status = call(Method::POST, "/impacts/activities".into(), Some(body)).await;
            let found = as_root(
                Method::GET,
                format!("/impacts/activities?name={name}"),
                None,
            )
            .await;
            (status, found.body["activities"] != json!([]))
        }
        ListActivities => (
            call(Method::GET, "/impacts/activities".into(), None).await,
            false,
        ),
        ListActivityTags => (
            call(Method::GET, "/impacts/tags/case".into(), None).await,
            false,
        ),
        CreateActivityTask => {
            let body = json!({"type": "create", "activities": [{"name": name}]});
            let status = call(Method::POST, "/impacts/activityTasks".into(), Some(body)).await;
            let tasks = as_root(
                Method::GET,
                "/impacts/activityTasks?count=1000".into(),
                None,
            )
            .await;
            let by_caller = tasks.body["tasks"]
                .as_array()
                .expect("tasks")
                .iter()
                .any(|t| t["createdBy"] != crate::support::ADMIN);
            (status, by_caller)
        }
        ListActivityTasks => (
            call(Method::GET, "/impacts/activityTasks".into(), None).await,
            false,
        ),
        GetActivityTask => (call(Method::GET, task().await, None).await, false),
        ListTaskItems => (
            call(Method::GET, format!("{}/taskItems", task().await), None).await,
            false,
        ),
        DeleteActivityTask => (call(Method::DELETE, task().await, None).await, false),
        _ => {
            let item = fixture(name).await;
            let share = format!("{item}/groups/{}", encoded(child_of(context)));
            let status = match endpoint {
                GetActivity => call(Method::GET, item, None).await,
                UpdateActivity => {
                    call(Method::PATCH, item, Some(json!({"description": "d"}))).await
                }
                ListActivityVersions => call(Method::GET, format!("{item}/versions"), None).await,
                GrantActivity => call(Method::PUT, share, None).await,
                RevokeActivity => {
                    let granted = as_root(Method::PUT, share.clone(), None).await;
                    assert_eq!(granted.status, 204, "fixture grant: {}", granted.body);
                    call(Method::DELETE, share, None).await
                }
                DeleteActivity => call(Method::DELETE, item, None).await,
                PutImpact => {
                    let body = json!({"name": "f"});
                    call(Method::PUT, format!("{item}/impacts/f"), Some(body)).await
                }
                ListImpacts => call(Method::GET, format!("{item}/impacts"), None).await,
                _ => call(Method::DELETE, format!("{item}/impacts/e"), None).await,
            };
            (status, false)
        }
    }
}

/// The versioned resources of the calculations, pipelines and reference-datasets modules, and
/// connectors.
const PIPELINE_MODULE_RESOURCES: [(&str, &str); 5] = [
    ("calculations", "calculations"),
    ("pipelines", "pipelines"),
    ("pipelines", "metrics"),
    ("pipelines", "connectors"),
    ("referenceDatasets", "referenceDatasets"),
];

/// A valid new resource of the calculations and pipelines modules, named `name`.
fn pipeline_module_body(resource: &str, name: &str) -> serde_json::Value {
    match resource {
        "calculations" => json!({
            "name": name, "summary": "s", "formula": ":x*2",
            "parameters": [{"index": 0, "key": "x", "description": "x", "type": "number"}],
            "outputs": [{"name": "y", "description": "y", "type": "number"}],
            "tags": {"case": name}
        }),
        "pipelines" => json!({
            "name": name,
            "connectorConfig": {"input": [{"name": "sif-csv-pipeline-input-connector"}]},
            "transformer": {
                "parameters": [{"index": 0, "key": "d", "type": "string"}],
                "transforms": [{"index": 0, "formula": "AS_TIMESTAMP(:d,'yyyy-MM-dd')",
                                "outputs": [{"index": 0, "key": "time", "type": "timestamp"}]}]
            },
            "tags": {"case": name}
        }),
        "referenceDatasets" => json!({"name": name, "data": "a,b\n1,2\n", "tags": {"case": name}}),
        "metrics" => {
            json!({"name": name, "summary": "s", "aggregationType": "sum", "tags": {"case": name}})
        }
        _ => json!({"name": name, "type": "input", "tags": {"case": name}}),
    }
}

/// The calculation, pipeline, metric and connector cases: fixtures are made by the root admin
/// in the group in context.
async fn pipeline_module_case(
    server: &TestServer,
    root: &str,
    token: &str,
    context: &str,
    endpoint: Endpoint,
    n: usize,
) -> (u16, bool) {
    use Endpoint::*;
    let ctx = Some(context);
    let call = |method: Method, path: String, body: Option<serde_json::Value>| async move {
        server
            .call(method, &path, token, ctx, body)
            .await
            .status
            .as_u16()
    };
    let name = format!("perm{n}");
    let (module, resource) = match endpoint {
        Create(m, r) | Get(m, r) | Update(m, r) | Grant(m, r) | Delete(m, r) => (m, r),
        _ => {
            let path = "/pipelines/tags/case?resourceType=pipeline".to_owned();
            return (call(Method::GET, path, None).await, false);
        }
    };
    let collection = format!("/{module}/{resource}");
    let body = pipeline_module_body(resource, &name);
    if let Create(..) = endpoint {
        let status = call(Method::POST, collection.clone(), Some(body)).await;
        let found = server
            .call(
                Method::GET,
                &format!("{collection}?name={name}"),
                root,
                ctx,
                None,
            )
            .await;
        return (status, found.body[resource] != json!([]));
    }
    let created = server
        .call(Method::POST, &collection, root, ctx, Some(body))
        .await;
    assert_eq!(created.status, 201, "fixture: {}", created.body);
    let item = format!("{collection}/{}", created.body["id"].as_str().expect("id"));
    let status = match endpoint {
        Get(..) => call(Method::GET, item, None).await,
        Update(..) => call(Method::PATCH, item, Some(json!({"description": "d"}))).await,
        Grant(..) => {
            let share = format!("{item}/groups/{}", encoded(child_of(context)));
            call(Method::PUT, share, None).await
        }
        _ => call(Method::DELETE, item, None).await,
    };
    (status, false)
}

/// Reads a reference dataset's file or index URL; the dataset is made by the root admin in the
/// group in context.
async fn dataset_file_case(
    server: &TestServer,
    root: &str,
    token: &str,
    context: &str,
    file: &str,
    n: usize,
) -> (u16, bool) {
    let collection = "/referenceDatasets/referenceDatasets";
    let body = pipeline_module_body("referenceDatasets", &format!("file{n}"));
    let created = server
        .call(Method::POST, collection, root, Some(context), Some(body))
        .await;
    assert_eq!(created.status, 201, "fixture: {}", created.body);
    let id = created.body["id"].as_str().expect("id");
    let path = format!("{collection}/{id}/{file}");
    let status = server
        .call(Method::GET, &path, token, Some(context), None)
        .await
        .status
        .as_u16();
    (status, false)
}
