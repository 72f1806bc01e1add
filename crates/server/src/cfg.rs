//! The server's configuration: where to listen, which database, the API token, the webhook and
//! callback secrets, where outputs are kept.

use crate::webhook::RetrySchedule;
use genjob::models::webhook::WebhookSecret;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The default database when none is given: `genjob.db` in the working directory.
pub const DEFAULT_DB: &str = "sqlite://genjob.db";

/// The default output directory when none is given: `genjob-outputs` in the working directory.
pub const DEFAULT_OUTPUT_DIR: &str = "genjob-outputs";

/// How long one attempt at a job's files may take by default (a long video over a slow link).
pub const DEFAULT_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The largest request body the API reads (a watch is a few hundred bytes).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Why a setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A `--db` this version cannot use (the text is shown without any password).
    #[error(
        "--db `{0}`: give `sqlite://FILE` (or a plain file path), or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`"
    )]
    UnsupportedDb(String),
    /// The API token is missing or too short.
    #[error(
        "set GENJOB_SERVER_TOKEN to a secret of at least 16 characters: every API request must carry it as a Bearer token"
    )]
    Token,
    /// The webhook secret is malformed.
    #[error("GENJOB_WEBHOOK_SECRET: {0}")]
    WebhookSecret(String),
    /// The callback secret is malformed.
    #[error(
        "GENJOB_CALLBACK_SECRET: give 16 to 128 characters of A-Z, a-z, 0-9, `-` and `_` (it is a URL path segment)"
    )]
    CallbackSecret,
}

/// The Bearer token that guards the API; `Debug` never shows it.
#[derive(Clone)]
pub struct ServerToken(String);

impl ServerToken {
    /// A token of at least 16 characters (surrounding whitespace ignored).
    pub fn new(token: &str) -> Result<ServerToken, ConfigError> {
        let token = token.trim();
        if token.chars().count() < 16 { Err(ConfigError::Token) } else { Ok(ServerToken(token.to_owned())) }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for ServerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerToken(***)")
    }
}

/// The secret path segment of the provider callback receiver (`/hooks/{secret}/…`): providers
/// cannot send the API token, so knowing this path is what lets a callback in. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackSecret(String);

impl CallbackSecret {
    /// A secret of 16 to 128 URL-safe characters (A-Z, a-z, 0-9, `-`, `_`).
    pub fn new(secret: &str) -> Result<CallbackSecret, ConfigError> {
        let ok = (16..=128).contains(&secret.len())
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        if ok { Ok(CallbackSecret(secret.to_owned())) } else { Err(ConfigError::CallbackSecret) }
    }

    /// A new random secret (32 alphanumeric characters).
    pub fn generate() -> CallbackSecret {
        use rand::Rng;
        let secret = rand::rng().sample_iter(rand::distr::Alphanumeric).take(32).map(char::from).collect();
        CallbackSecret(secret)
    }

    /// The secret itself (to build the callback URL given to providers; never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackSecret(***)")
    }
}

/// Everything `genjob serve` is started with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where the API listens (port 0: any free port).
    pub listen: SocketAddr,
    /// The database: a SQLite file, or PostgreSQL shared by several replicas.
    pub db: DbUrl,
    /// The API's Bearer token.
    pub token: ServerToken,
    /// The webhook signing secret; `None`: one is generated at first start and kept in the database.
    pub webhook_secret: Option<WebhookSecret>,
    /// The largest request body read.
    pub body_limit: usize,
    /// When failed webhook deliveries are tried again.
    pub retry_schedule: RetrySchedule,
    /// The provider callback path's secret; `None`: one is generated at first start and kept in the database.
    pub callback_secret: Option<CallbackSecret>,
    /// Where the files of `download: true` watches are kept (created when first needed).
    pub output_dir: PathBuf,
    /// When a failed download of a job's files is tried again; past the last delay the watch
    /// records why its files were not kept.
    pub download_retries: RetrySchedule,
    /// How long one attempt at a job's files may take, however slowly the file host sends.
    pub download_timeout: Duration,
    /// How long the event log (`GET /v1/events`) keeps events.
    pub event_retention: EventRetention,
    /// PostgreSQL: how long a replica's hold on a watch lasts unrenewed (renewed every third of
    /// it); the watches of a replica that died are taken over by the others within this time.
    pub lease: Duration,
    /// How often what this server learned of job durations is merged into the store's (and the
    /// merged result taken back: replicas learn from each other); also at start and at shutdown.
    pub learn_every: Duration,
}

/// The default time between merges of the learned job durations into the store.
pub const DEFAULT_LEARN_EVERY: Duration = Duration::from_secs(30);

/// The default lease of a replica on its watches.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// How long the event log keeps events: a stream resuming from before the oldest kept one is
/// sent a `reset` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRetention {
    /// Events older than this are pruned.
    pub max_age: Duration,
    /// At most this many of the newest events are kept.
    pub max_events: u64,
    /// How often pruning runs.
    pub every: Duration,
}

impl Default for EventRetention {
    /// 7 days, at most 1,000,000 events, pruned hourly.
    fn default() -> Self {
        EventRetention {
            max_age: Duration::from_secs(7 * 24 * 3600),
            max_events: 1_000_000,
            every: Duration::from_secs(3600),
        }
    }
}

impl ServerConfig {
    /// A configuration with the defaults for everything but the address, database and token.
    pub fn new(listen: SocketAddr, db: impl Into<DbUrl>, token: ServerToken) -> ServerConfig {
        ServerConfig {
            listen,
            db: db.into(),
            token,
            webhook_secret: None,
            body_limit: DEFAULT_BODY_LIMIT,
            retry_schedule: RetrySchedule::default(),
            callback_secret: None,
            output_dir: PathBuf::from(DEFAULT_OUTPUT_DIR),
            download_retries: RetrySchedule::downloads(),
            download_timeout: DEFAULT_DOWNLOAD_TIMEOUT,
            event_retention: EventRetention::default(),
            lease: DEFAULT_LEASE,
            learn_every: DEFAULT_LEARN_EVERY,
        }
    }
}

/// Where the store is: a SQLite file (one process) or a PostgreSQL database (several replicas).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbUrl {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://…`); `Debug` hides its password.
    Postgres(PostgresUrl),
}

impl From<PathBuf> for DbUrl {
    fn from(path: PathBuf) -> Self {
        DbUrl::Sqlite(path)
    }
}

impl From<&PathBuf> for DbUrl {
    fn from(path: &PathBuf) -> Self {
        DbUrl::Sqlite(path.clone())
    }
}

impl From<&std::path::Path> for DbUrl {
    fn from(path: &std::path::Path) -> Self {
        DbUrl::Sqlite(path.to_owned())
    }
}

impl From<&DbUrl> for DbUrl {
    fn from(url: &DbUrl) -> Self {
        url.clone()
    }
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbUrl::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DbUrl::Postgres(url) => f.debug_tuple("Postgres").field(url).finish(),
        }
    }
}

/// A PostgreSQL URL; it may hold a password, so only [`PostgresUrl::expose`] gives it whole.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL, password included: for connecting only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", redact_password(&self.0))
    }
}

/// `postgres://user:***@host/db`: the URL as it may be shown.
fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "(not a URL)".to_owned(),
    }
}

/// Reads `--db`: `sqlite://FILE`, `sqlite:FILE` or a plain path; `postgres://…` or `postgresql://…`.
///
/// ```
/// use genjob_server::cfg::{DbUrl, parse_db};
/// assert_eq!(parse_db("sqlite://genjob.db")?, DbUrl::Sqlite("genjob.db".into()));
/// assert_eq!(parse_db("/var/lib/genjob/watches.db")?, DbUrl::Sqlite("/var/lib/genjob/watches.db".into()));
/// assert!(matches!(parse_db("postgres://genjob:pw@127.0.0.1/genjob")?, DbUrl::Postgres(_)));
/// assert!(parse_db("mysql://localhost/genjob").is_err());
/// # Ok::<(), genjob_server::cfg::ConfigError>(())
/// ```
pub fn parse_db(db: &str) -> Result<DbUrl, ConfigError> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let parsed = url::Url::parse(db).map_err(|_| ConfigError::UnsupportedDb(redact_password(db)))?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::UnsupportedDb(redact_password(db)));
        }
        return Ok(DbUrl::Postgres(PostgresUrl(db.to_owned())));
    }
    let path = match db.strip_prefix("sqlite://").or_else(|| db.strip_prefix("sqlite:")) {
        Some(path) => path,
        None if db.contains("://") => return Err(ConfigError::UnsupportedDb(redact_password(db))),
        None => db,
    };
    // SQLite's own `:memory:` would lose every watch at exit: the store must outlive the process.
    if path.is_empty() || path.starts_with(':') || path.contains('?') {
        return Err(ConfigError::UnsupportedDb(db.to_owned()));
    }
    Ok(DbUrl::Sqlite(PathBuf::from(path)))
}
