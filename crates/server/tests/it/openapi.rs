//! The OpenAPI document: served without a token, valid JSON, and it documents exactly the routes
//! the router serves (both read from `genjob_server::ROUTES`).

use crate::common::{Api, sandbox, server};
use genjob_server::{Access, ROUTES};
use serde_json::Value;
use std::collections::BTreeSet;

/// Every `$ref` in `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(target)) => out.push(target),
                    _ => refs(value, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_covers_every_route_and_no_other() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server(&dir.path().join("genjob.db"), &sandbox).await;
    let open = Api::new(&server).with_token(None);

    let answer = open.get("/v1/openapi.json").await;
    assert_eq!(answer.status, 200, "served without a token");
    let doc = answer.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let served: BTreeSet<(String, String)> =
        ROUTES.iter().map(|r| (r.method.to_lowercase(), r.path.to_owned())).collect();
    let mut documented = BTreeSet::new();
    let paths = doc["paths"].as_object().expect("paths");
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if method == "parameters" {
                continue;
            }
            documented.insert((method.clone(), path.clone()));
            let route = ROUTES.iter().find(|r| r.path == path && r.method.eq_ignore_ascii_case(method));
            let Some(route) = route else { continue };
            // An open route says so; a page names the session cookie; a guarded one inherits the
            // document's Bearer requirement.
            let expected = match route.access {
                Access::Open | Access::CallbackSecret => Some(serde_json::json!([])),
                Access::Session => Some(serde_json::json!([{"session": []}])),
                Access::Token => None,
            };
            assert_eq!(operation.get("security"), expected.as_ref(), "{method} {path}");
            assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
        }
    }
    assert_eq!(documented, served, "documented routes == served routes");
    assert_eq!(doc["security"][0]["bearer"], serde_json::json!([]));

    // The document's references all resolve; the webhook names its three headers.
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    for target in targets {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(doc.pointer(pointer).is_some(), "{target} resolves");
    }
    let headers: BTreeSet<&str> = doc["webhooks"]["jobFinished"]["post"]["parameters"]
        .as_array()
        .expect("webhook headers")
        .iter()
        .filter(|p| p["in"] == "header")
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(headers, BTreeSet::from(["webhook-id", "webhook-timestamp", "webhook-signature"]));

    // What the document says about access holds, and an undocumented path is not served.
    for route in ROUTES.iter().filter(|r| r.method == "GET" && !r.path.contains('{')) {
        let status = if route.path == "/v1/events" {
            // A stream never ends: only its status is read.
            let url = format!("http://{}{}", server.addr(), route.path);
            reqwest::get(url).await.expect("an answer").status().as_u16()
        } else {
            open.get_text(route.path).await.0
        };
        let expected = if route.access == Access::Open { 200 } else { 401 };
        assert_eq!(status, expected, "{}", route.path);
    }
    assert_eq!(open.get("/v1/nothing").await.status, 404);
    server.shutdown().await;
}
