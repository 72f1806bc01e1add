//! Downloads: complete files, no token, expired URLs, truncation, size limits, atomic placement.

use std::path::Path;

use genjob_transport::{DownloadConfig, Downloader, ErrorKind};
use wiremock::matchers::{any, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TestResult, chunked_response, expect_err, raw_server};

fn downloader() -> Result<Downloader, genjob_transport::TransportError> {
    Downloader::new(DownloadConfig::new().with_idle_timeout(std::time::Duration::from_secs(5)))
}

fn entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    Ok(names)
}

#[tokio::test]
async fn a_complete_download_lands_under_its_name_without_the_token() -> TestResult {
    let server = MockServer::start().await;
    let video: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    Mock::given(path("/out/video.mp4"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(video.clone(), "video/mp4"))
        .mount(&server)
        .await;
    // The downloader holds no token at all: nothing can carry one to the file host.
    let client = downloader()?;
    let dir = tempfile::tempdir()?;

    let url = format!("{}/out/video.mp4?X-Goog-Signature=abc&Expires=1", server.uri());
    let done = client.download(&url, dir.path(), "j1.mp4").await?;

    assert_eq!(done.path, dir.path().join("j1.mp4"));
    assert_eq!(done.bytes, video.len() as u64);
    assert_eq!(done.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(std::fs::read(&done.path)?, video);
    assert_eq!(entries(dir.path())?, ["j1.mp4"], "no temporary file is left");
    let received = server.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1);
    assert!(!received[0].headers.contains_key("authorization"));
    assert_eq!(received[0].url.query(), Some("X-Goog-Signature=abc&Expires=1"), "the signed query is sent as given");
    Ok(())
}

#[tokio::test]
async fn a_download_replaces_an_older_file_of_the_same_name() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_raw("new", "image/png")).mount(&server).await;
    let client = downloader()?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("a.png"), "old contents")?;

    client.download(&format!("{}/a.png", server.uri()), dir.path(), "a.png").await?;

    assert_eq!(std::fs::read_to_string(dir.path().join("a.png"))?, "new");
    Ok(())
}

#[tokio::test]
async fn expired_signed_urls_are_recognisable_and_leave_nothing_behind() -> TestResult {
    let server = MockServer::start().await;
    for status in [403u16, 410, 404] {
        Mock::given(path(format!("/{status}")))
            .respond_with(ResponseTemplate::new(status).set_body_raw("<Error>AccessDenied</Error>", "application/xml"))
            .mount(&server)
            .await;
    }
    let client = downloader()?;
    let dir = tempfile::tempdir()?;

    for (status, expired) in [(403u16, true), (410, true), (404, false)] {
        let url = format!("{}/{status}?Signature=s3cr3tsig", server.uri());
        let error = expect_err(client.download(&url, dir.path(), "out.mp4").await);
        assert!((error).kind() == ErrorKind::DownloadStatus, "{error:?}");
        assert_eq!(error.status(), Some(status));
        assert_eq!(error.is_expired_url(), expired, "HTTP {status}");
        assert!(!error.is_retryable());
        let text = format!("{error} {error:?}");
        assert!(!text.contains("s3cr3tsig"), "the signature stays out of errors: {text}");
        assert_eq!(expired, error.to_string().contains("fetch the job again"), "{error}");
    }
    assert!(entries(dir.path())?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_connection_closed_before_content_length_is_a_truncation() -> TestResult {
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 1000\r\n\r\n".to_vec();
    response.extend(std::iter::repeat_n(b'v', 500));
    let (addr, _) = raw_server(vec![response]).await?;
    let client = downloader()?;
    let dir = tempfile::tempdir()?;

    let error = expect_err(client.download(&format!("http://{addr}/v.mp4"), dir.path(), "v.mp4").await);

    assert_eq!(
        (error.kind(), error.detail(), error.attempts()),
        (ErrorKind::Truncated, "500 bytes of 1000", 1),
        "{error:?}"
    );
    assert!(error.is_retryable());
    assert!(entries(dir.path())?.is_empty(), "{:?}", entries(dir.path()));
    Ok(())
}

#[tokio::test]
async fn a_truncated_download_fails_once_and_leaves_nothing() -> TestResult {
    let mut cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n".to_vec();
    cut.extend_from_slice(b"01234");
    let whole = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789".to_vec();
    let (addr, heads) = raw_server(vec![cut, whole]).await?;
    let client = downloader()?;
    let dir = tempfile::tempdir()?;

    // The second answer would be whole, but trying again is the caller's decision: one attempt here.
    let error = expect_err(client.download(&format!("http://{addr}/f"), dir.path(), "f.bin").await);

    assert!(error.is_retryable() && error.attempts() == 1, "{error:?}");
    assert!(entries(dir.path())?.is_empty(), "nothing half-written stays");
    let done = client.download(&format!("http://{addr}/f"), dir.path(), "f.bin").await?;
    assert_eq!(std::fs::read(&done.path)?, b"0123456789");
    assert_eq!(heads.await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn oversized_downloads_are_refused_with_and_without_content_length() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![0u8; 8192], "video/mp4"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir()?;
    let client = Downloader::new(DownloadConfig::new().with_max_size(4096))?;

    let announced = expect_err(client.download(&format!("{}/big", server.uri()), dir.path(), "big.mp4").await);
    assert_eq!((announced.kind(), announced.detail()), (ErrorKind::TooLarge, "4096"), "{announced:?}");

    let (addr, _) = raw_server(vec![chunked_response("video/mp4", 16, 1024)]).await?;
    let client = Downloader::new(DownloadConfig::new().with_max_size(4096))?;
    let streamed = expect_err(client.download(&format!("http://{addr}/big"), dir.path(), "big.mp4").await);
    assert_eq!((streamed.kind(), streamed.detail()), (ErrorKind::TooLarge, "4096"), "{streamed:?}");

    assert!(entries(dir.path())?.is_empty());
    Ok(())
}

#[tokio::test]
async fn bad_urls_and_file_names_are_refused_before_any_request() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200)).mount(&server).await;
    let client = downloader()?;
    let dir = tempfile::tempdir()?;
    let good = format!("{}/f", server.uri());

    for (url, name) in [
        (good.as_str(), "../escape.mp4"),
        (good.as_str(), "sub/dir.mp4"),
        (good.as_str(), ""),
        ("not a url?sig=1", "f.mp4"),
        ("file:///etc/passwd", "f.mp4"),
    ] {
        let error = expect_err(client.download(url, dir.path(), name).await);
        // A bad file name is the caller's input; a bad URL came from a server's record.
        let expected = if url == good { ErrorKind::InvalidInput } else { ErrorKind::InvalidResponse };
        assert!(error.kind() == expected, "{url} {name}: {error:?}");
    }
    assert_eq!(server.received_requests().await.map_or(0, |r| r.len()), 0);
    assert!(entries(dir.path())?.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_missing_directory_is_an_io_error_after_the_response() -> TestResult {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_raw("data", "text/plain")).mount(&server).await;
    let client = downloader()?;
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("missing");

    let error = expect_err(client.download(&format!("{}/f", server.uri()), &missing, "f").await);

    assert_eq!(error.kind(), ErrorKind::Io, "{error:?}");
    assert!(error.to_string().contains("missing"), "{error}");
    Ok(())
}
