//! The callback receiver mounted in a user's own axum server: what the README promises.

use axum::Router;
use axum::routing::get;
use genjob::JobStatus;
use genjob::callbacks::{self, ReceiverOptions};
use genjob_sandbox::{JobSpec, Sandbox, SandboxConfig};
use std::time::Duration;

#[tokio::test]
async fn the_receiver_nests_under_a_path_of_the_users_server_and_keeps_its_secret() {
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), SandboxConfig::default()).await.unwrap();
    let id = sandbox.add_job(JobSpec::dreamina_video().stuck());
    let (receiver, mut wakes) = callbacks::channel(ReceiverOptions::new().with_secret("k7Qz9"));
    let app = Router::new().route("/health", get(|| async { "ok" })).nest("/hooks", receiver.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    for refused in ["/hooks", "/hooks/wrong", "/elsewhere/k7Qz9"] {
        let url = format!("http://{addr}{refused}");
        assert!(sandbox.send_forged_callback_to(&id, "completed", &url).await.is_err(), "{refused} was accepted");
    }
    let url = format!("http://{addr}/hooks/k7Qz9");
    sandbox.send_forged_callback_to(&id, "completed", &url).await.unwrap();
    let wake = tokio::time::timeout(Duration::from_secs(5), wakes.recv()).await.unwrap().unwrap();
    // The claim arrives as it was made; only a read of the record decides (the job is stuck).
    assert_eq!((wake.id.as_str(), wake.claimed), (id.as_str(), JobStatus::Completed));
    assert!(tokio::time::timeout(Duration::from_millis(100), wakes.recv()).await.is_err(), "refused ones woke nothing");
    server.abort();
    sandbox.shutdown().await;
}
