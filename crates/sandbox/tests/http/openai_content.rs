//! `/content` of an OpenAI-style video answers the file's bytes per `variant`, as OpenAI does;
//! a documented-style token360 video answers token360's JSON link.

use genjob_sandbox::JobSpec;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Harness, TOKEN, TestResult, keys, start, str_at};

/// A file as answered: status, content type and bytes.
struct Download {
    status: StatusCode,
    content_type: String,
    bytes: Vec<u8>,
}

async fn download(
    h: &Harness,
    path: &str,
    accept: Option<&str>,
) -> Result<Download, Box<dyn std::error::Error + Send + Sync>> {
    let mut request = h.client.get(h.url(path)).bearer_auth(TOKEN);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await?;
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Ok(Download { status, content_type, bytes: response.bytes().await?.to_vec() })
}

#[tokio::test]
async fn an_openai_style_video_answers_its_bytes_per_variant() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_openai_style());
    h.advance(90);
    let content = format!("/v1/videos/{id}/content");

    // Even a client that accepts only JSON gets the bytes, as from OpenAI: the answer decides.
    let linked = download(&h, &content, Some("application/json")).await?;
    assert_eq!((linked.status, linked.content_type.as_str()), (StatusCode::OK, "video/mp4"));
    let linked = linked.bytes;
    assert_eq!(linked.len(), 64 * 1024);

    // openai-python's `download_content` sends `Accept: application/binary`; curl and browsers `*/*`.
    for (accept, query) in [(Some("application/binary"), ""), (None, ""), (Some("*/*"), "?variant=video")] {
        let video = download(&h, &format!("{content}{query}"), accept).await?;
        assert_eq!((video.status, video.content_type.as_str()), (StatusCode::OK, "video/mp4"), "{accept:?}{query}");
        assert_eq!(video.bytes, linked, "the bytes are the linked video's, not JSON ({accept:?}{query})");
        assert_eq!(&video.bytes[4..8], b"ftyp");
    }

    let thumbnail = download(&h, &format!("{content}?variant=thumbnail"), Some("application/binary")).await?;
    assert_eq!((thumbnail.status, thumbnail.content_type.as_str()), (StatusCode::OK, "image/webp"));
    assert_eq!(
        (&thumbnail.bytes[..4], &thumbnail.bytes[8..12], thumbnail.bytes.len()),
        (&b"RIFF"[..], &b"WEBP"[..], 16 * 1024)
    );
    // Another variant is another file even when only JSON is accepted: OpenAI links none.
    let sprites = download(&h, &format!("{content}?variant=spritesheet"), Some("application/json")).await?;
    assert_eq!((sprites.status, sprites.content_type.as_str()), (StatusCode::OK, "image/jpeg"));
    assert_eq!(&sprites.bytes[..3], b"\xff\xd8\xff");
    assert_ne!(sprites.bytes, thumbnail.bytes);

    let bad = h.get(&format!("{content}?variant=poster")).await?;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!((str_at(&bad.json, "/error/param"), str_at(&bad.json, "/error/code")), ("variant", "invalid_value"));
    let stats = h.sandbox.stats();
    assert_eq!((stats.token360_content, stats.files), (7, 0), "bytes from /content are no /files download");
    Ok(())
}

#[tokio::test]
async fn a_documented_style_video_answers_the_json_link_whatever_is_asked() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video());
    h.advance(90);
    for query in ["", "?variant=thumbnail"] {
        let answer = download(&h, &format!("/v1/videos/{id}/content{query}"), Some("application/binary")).await?;
        assert_eq!((answer.status, answer.content_type.as_str()), (StatusCode::OK, "application/json"), "{query}");
        let link: Value = serde_json::from_slice(&answer.bytes)?;
        assert_eq!(keys(&link), ["url", "video_id", "expires_in"]);
    }
    Ok(())
}

#[tokio::test]
async fn an_openai_style_video_is_not_ready_until_completed_and_meets_the_truncation_fault() -> TestResult {
    let h = start().await?;
    let id = h.sandbox.add_job(JobSpec::token360_video().with_openai_style().with_truncated_download());
    let early = h.get(&format!("/v1/videos/{id}/content")).await?;
    assert_eq!((early.status, str_at(&early.json, "/error/code")), (StatusCode::BAD_REQUEST, "video_not_ready"));
    h.advance(90);
    let response = h.client.get(h.url(&format!("/v1/videos/{id}/content"))).bearer_auth(TOKEN).send().await?;
    assert_eq!(response.headers()["content-length"], "65536");
    assert!(response.bytes().await.is_err(), "the body breaks off half-way");
    Ok(())
}
