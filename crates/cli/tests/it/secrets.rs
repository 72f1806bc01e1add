//! Secrets never reach the terminal: tokens pasted in the wrong place, credentials in base URLs.

use crate::common::{Run, genjob, sandbox};

const DREAMINA_ID: &str = "j0223140530123456789v-u12345-CA:user@example.com-bot:dreamina";

/// Distinctive values, so a leak is found wherever it lands.
const USEAPI_SECRET: &str = "user:48151-useapi-Zq7Xw2";
const TOKEN360_SECRET: &str = "sk-360-Kp9Lm4Vb8Nc";
const URL_SECRET: &str = "url-pass-Hy3Rt6";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn assert_hidden(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "`{secret}` leaked: {run:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_a_base_url_are_never_printed() {
    let cases = [
        ("USEAPI_BASE_URL", format!("http://user:{URL_SECRET}@127.0.0.1:9/")),
        ("USEAPI_BASE_URL", format!("http://{URL_SECRET}@127.0.0.1:9/")),
        ("USEAPI_BASE_URL", format!("http://127.0.0.1:9/?key={URL_SECRET}")),
        ("USEAPI_BASE_URL", format!("http://127.0.0.1:9/#{URL_SECRET}")),
        ("USEAPI_BASE_URL", format!("ftp://user:{URL_SECRET}@127.0.0.1/")),
        ("USEAPI_BASE_URL", format!("user:{URL_SECRET}@127.0.0.1")),
        ("TOKEN360_BASE_URL", format!("https://key:{URL_SECRET}@api.example.invalid/v1?x={URL_SECRET}")),
    ];
    for (variable, base) in &cases {
        let env = env(&[("USEAPI_TOKEN", USEAPI_SECRET), ("TOKEN360_API_KEY", TOKEN360_SECRET), (variable, base)]);
        let args: &[&str] = if *variable == "TOKEN360_BASE_URL" {
            &["status", "video_abc123", "--provider", "token360"]
        } else {
            &["status", DREAMINA_ID]
        };
        let run = genjob(args, &env, None).await;
        assert_eq!(run.code, 2, "{base}: {run:?}");
        assert!(run.stderr.contains(variable), "the message names the variable: {run:?}");
        assert_hidden(&run, &[URL_SECRET, USEAPI_SECRET, TOKEN360_SECRET]);
    }
    // `executing` builds its client the same way.
    let base = format!("http://user:{URL_SECRET}@127.0.0.1:9/");
    let run = genjob(&["executing"], &env(&[("USEAPI_TOKEN", USEAPI_SECRET), ("USEAPI_BASE_URL", &base)]), None).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("USEAPI_BASE_URL"), "{run:?}");
    assert_hidden(&run, &[URL_SECRET, USEAPI_SECRET]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_pasted_as_a_job_id_is_refused_without_being_echoed() {
    let sandbox = sandbox(60.0).await;
    let base = sandbox.base_url();
    let env = env(&[
        ("USEAPI_TOKEN", USEAPI_SECRET),
        ("TOKEN360_API_KEY", TOKEN360_SECRET),
        ("USEAPI_BASE_URL", &base),
        ("TOKEN360_BASE_URL", &base),
    ]);
    let cases: [(&[&str], &str); 5] = [
        (&["status", USEAPI_SECRET], "USEAPI_TOKEN"),
        (&["status", TOKEN360_SECRET], "TOKEN360_API_KEY"),
        (&["status", TOKEN360_SECRET, "--provider", "token360", "--json"], "TOKEN360_API_KEY"),
        (&["wait", DREAMINA_ID, TOKEN360_SECRET, "--provider", "token360"], "TOKEN360_API_KEY"),
        (&["wait", &format!(" {USEAPI_SECRET}\n")], "USEAPI_TOKEN"),
    ];
    for (args, variable) in cases {
        let run = genjob(args, &env, None).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(variable) && run.stderr.contains("not the API token"), "{args:?}: {run:?}");
        assert_hidden(&run, &[USEAPI_SECRET, TOKEN360_SECRET]);
    }
    // Refused before any request: the token never travelled in a URL.
    assert_eq!(sandbox.stats().total, 0);
}

/// One command whose error quotes a secret: what it must still say, and the secret it must not show.
struct Quoting {
    env: Vec<(String, String)>,
    args: Vec<String>,
    says: &'static str,
    secret: &'static str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_quoting_a_token_is_redacted() {
    // A token with a space is not a valid token, and not a valid id: the id parser quotes the id.
    const SPACED: &str = "useapi tok-Wd5Gh1";
    let ftp = format!("ftp://127.0.0.1/{USEAPI_SECRET}");
    let cases = [
        // The id parser refuses the `/` and quotes the id.
        Quoting {
            env: env(&[("USEAPI_TOKEN", USEAPI_SECRET)]),
            args: vec!["status".into(), format!("{USEAPI_SECRET}/x")],
            says: "job id `***/x`",
            secret: USEAPI_SECRET,
        },
        Quoting {
            env: env(&[("USEAPI_TOKEN", SPACED)]),
            args: vec!["status".into(), format!("{SPACED}!")],
            says: "job id `***!`",
            secret: SPACED,
        },
        // No provider in an opaque id: "cannot tell the provider of job id `…`".
        Quoting {
            env: env(&[("TOKEN360_API_KEY", TOKEN360_SECRET)]),
            args: vec!["wait".into(), format!("{TOKEN360_SECRET}-2")],
            says: "cannot tell the provider of job id `***-2`",
            secret: TOKEN360_SECRET,
        },
        // clap quotes a value it refuses.
        Quoting {
            env: env(&[("USEAPI_TOKEN", USEAPI_SECRET)]),
            args: vec!["wait".into(), DREAMINA_ID.into(), "--timeout".into(), USEAPI_SECRET.into()],
            says: "--timeout",
            secret: USEAPI_SECRET,
        },
        Quoting {
            env: env(&[("TOKEN360_API_KEY", TOKEN360_SECRET)]),
            args: vec!["status".into(), "video_1".into(), "--provider".into(), TOKEN360_SECRET.into()],
            says: "--provider",
            secret: TOKEN360_SECRET,
        },
        // The token inside a base URL that is not http(s).
        Quoting {
            env: env(&[("USEAPI_TOKEN", USEAPI_SECRET), ("USEAPI_BASE_URL", &ftp)]),
            args: vec!["status".into(), DREAMINA_ID.into()],
            says: "USEAPI_BASE_URL is `ftp://127.0.0.1/***`",
            secret: USEAPI_SECRET,
        },
    ];
    for case in cases {
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let run = genjob(&args, &case.env, None).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(case.says), "{args:?} should say {:?}: {run:?}", case.says);
        assert_hidden(&run, &[case.secret]);
    }
}
