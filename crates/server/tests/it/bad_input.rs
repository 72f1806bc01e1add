//! Bad input gets a 4xx with a JSON error naming what was wrong, never a 500 or a dropped connection.

use crate::common::{API_TOKEN, Answer, Api, sandbox, server};
use reqwest::Method;
use serde_json::json;

fn assert_error(answer: &Answer, status: u16, field: Option<&str>) {
    assert_eq!(answer.status, status, "{answer:?}");
    let error = &answer.body["error"];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer:?}");
    assert!(error["code"].is_string(), "{answer:?}");
    if let Some(field) = field {
        assert_eq!(error["field"], field, "{answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_a_json_4xx_naming_the_field() {
    let sandbox = sandbox().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = server(&dir.path().join("genjob.db"), &sandbox).await;
    let api = Api::new(&server);
    let dreamina = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

    // The token: missing, wrong, or in another scheme; health needs none.
    for token in [None, Some("not-the-token-at-all"), Some("")] {
        assert_error(&api.clone().with_token(token).get("/v1/watches").await, 401, None);
        assert_error(&api.clone().with_token(token).post(json!({"job_id": dreamina})).await, 401, None);
    }
    let health = api.clone().with_token(None).get("/healthz").await;
    assert_eq!((health.status, health.body["status"].as_str()), (200, Some("ok")));
    assert_eq!(api.clone().with_token(Some(&API_TOKEN.to_uppercase())).get("/v1/watches").await.status, 401);

    // Wrong types, unknown and missing fields, trailing data, not JSON at all.
    let cases = [
        (json!({"job_id": dreamina, "download": "yes"}), "download"),
        (json!({"job_id": 12345}), "job_id"),
        (json!({"job_id": dreamina, "labels": ["a"]}), "labels"),
        (json!({"job_id": dreamina, "labels": {"team": 3}}), "labels.team"),
        (json!({"job_id": dreamina, "webhook": "http://127.0.0.1/"}), "webhook"),
        (json!({"provider": "dreamina"}), "job_id"),
        (json!([dreamina]), "body"),
        // Ids: empty, a control character, a path separator, a provider's ending alone, an opaque id without its provider.
        (json!({"job_id": ""}), "job_id"),
        (json!({"job_id": "abc\u{0}def", "provider": "token360"}), "job_id"),
        (json!({"job_id": "a/b", "provider": "token360"}), "job_id"),
        (json!({"job_id": "-bot:dreamina"}), "job_id"),
        (json!({"job_id": "video_abc123"}), "provider"),
        (json!({"job_id": "video_abc123", "provider": "midjourney"}), "provider"),
        (json!({"job_id": dreamina, "provider": "token360"}), "provider"),
        (json!({"job_id": dreamina, "webhook_url": "ftp://127.0.0.1/hook"}), "webhook_url"),
        (json!({"job_id": dreamina, "webhook_url": "not a url"}), "webhook_url"),
        (json!({"job_id": dreamina, "labels": {"bad key!": "x"}}), "labels.bad key!"),
    ];
    for (body, field) in cases {
        assert_error(&api.post(body.clone()).await, 400, Some(field));
    }
    for raw in [&b"{not json"[..], b"", b"{\"job_id\": \"x\"} trailing", &[0xff, 0xfe, 0x00]] {
        assert_error(&api.send(Method::POST, "/v1/watches", Some(raw.to_vec())).await, 400, Some("body"));
    }

    // A huge body is refused before it is read whole. The server then closes that connection, so
    // the request goes on a client of its own: a pooled client could reuse the closing connection
    // for the next request (a broken pipe under load, not the server's doing).
    let huge = json!({"job_id": dreamina, "labels": {"pad": "x".repeat(1 << 20)}}).to_string().into_bytes();
    assert_error(&Api::new(&server).send(Method::POST, "/v1/watches", Some(huge)).await, 413, None);

    // Reads: an unknown watch, bad list parameters, unknown paths and methods.
    assert_error(&api.get("/v1/watches/video_nothing_here").await, 404, None);
    assert_error(&api.get("/v1/watches/%FF%FE").await, 400, Some("job_id"));
    assert_error(&api.send(Method::DELETE, "/v1/watches/a%00b", None).await, 400, Some("job_id"));
    assert_error(&api.get("/v1/watches?status=sleeping").await, 400, Some("status"));
    assert_error(&api.get("/v1/watches?cursor=abc").await, 400, Some("cursor"));
    assert_error(&api.get("/v1/watches?limit=100000").await, 400, Some("limit"));
    assert_error(&api.get("/v1/watches?label=nocolon").await, 400, Some("label"));
    assert_error(&api.get("/v1/watches?colour=red").await, 400, Some("colour"));
    assert_error(&api.get("/v2/watches").await, 404, None);
    assert_error(&api.send(Method::PUT, "/v1/watches", None).await, 405, None);

    // Nothing bad was stored.
    let listed = api.get("/v1/watches").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(0), "{listed:?}");
    server.shutdown().await;
}
