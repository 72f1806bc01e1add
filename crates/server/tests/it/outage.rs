//! PostgreSQL going away mid-run: the server reaches its store through a TCP relay on 127.0.0.1
//! that the test cuts (every connection closed, new ones refused) for longer than a lease, while
//! jobs finish. Meanwhile the API answers 503 with a JSON error, never a 500 or a panic; once the
//! store is back, every job ends, every final state is delivered, signed, and the server is healthy.

use crate::backends::postgres;
use crate::common::{API_TOKEN, Api, Receiver, sandbox, video_of_three, watch_path, watcher};
use genjob_server::Server;
use genjob_server::cfg::{DbUrl, ServerConfig, ServerToken, parse_db};
use genjob_testkit::relay::Relay;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const JOBS: usize = 24;
/// The lease is shorter than the outage: the server's leases run out while it cannot renew them.
const LEASE: Duration = Duration::from_secs(3);
const OUTAGE: Duration = Duration::from_secs(8);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_going_away_mid_run_loses_nothing() {
    let Some(db) = postgres("outage::the_store_going_away_mid_run_loses_nothing").await else { return };
    let DbUrl::Postgres(url) = &db.url else { unreachable!("a PostgreSQL database") };
    let (relay, relayed) = Relay::in_front_of(url.expose()).await.expect("a relay");

    let sandbox = sandbox().await;
    let mut receiver = Receiver::start(&[]).await;
    let token = ServerToken::new(API_TOKEN).expect("token");
    let mut config = ServerConfig::new(([127, 0, 0, 1], 0).into(), parse_db(&relayed).expect("a URL"), token);
    config.lease = LEASE;
    let server = Server::start(config, watcher(&sandbox)).await.expect("the server starts");
    let api = Api::new(&server);

    // Jobs of three providers finishing 3 to 14 s from now: most of them while the store is away.
    let mut jobs = BTreeSet::new();
    for i in 0..JOBS {
        let (id, body) = video_of_three(&sandbox, i, Duration::from_secs(3 + (i as u64 * 5) % 12), &receiver.url);
        assert_eq!(api.post(body).await.status, 201);
        jobs.insert(id);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    relay.cut();
    let cut_at = Instant::now();
    let probe = jobs.first().expect("a job").clone();
    let mut unavailable = 0;
    while cut_at.elapsed() < OUTAGE {
        for path in ["/healthz".to_owned(), watch_path(&probe), "/v1/watches?status=watching".to_owned()] {
            let answer = api.get(&path).await;
            assert!(
                answer.status == 503 && answer.body["error"]["code"] == "store_unavailable",
                "{path} while the store is away: {} {}",
                answer.status,
                answer.body
            );
            unavailable += 1;
        }
        let refused = api.post(json!({"job_id": "video_added_while_away", "provider": "token360"})).await;
        assert_eq!(refused.status, 503, "a watch cannot be added while the store is away: {}", refused.body);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    relay.restore();

    // Every job ends and its final state arrives, signed, once the store is back.
    let mut delivered = BTreeSet::new();
    while delivered.len() < JOBS {
        let delivery = receiver.next().await;
        delivery.verify(server.webhook_secret());
        let body = delivery.json();
        assert_eq!(body["data"]["status"], "completed", "{body}");
        delivered.insert(body["data"]["job_id"].as_str().expect("a job id").to_owned());
    }
    assert_eq!(delivered, jobs);
    for job in &jobs {
        assert_eq!(api.wait_final(job).await["status"], "completed");
    }
    assert_eq!(api.get("/healthz").await.status, 200);
    eprintln!("outage: {unavailable} requests answered 503 while the store was away; all {JOBS} delivered after");
    server.shutdown().await;
}
