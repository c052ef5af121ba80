//! `call-http`: the server. The API, the dashboard, the worker and, unless
//! a provider URL is given, the built-in stand-in of the Mock Call API, in
//! one process on one SQLite file.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use call_core::{
    CallingWindow, Config, Redial, Region, ValidationError, WorkerConfig, ports::CallProvider,
};
use call_db::Database;
use call_http::{
    AppState,
    notify::{WebhookConfig, WebhookNotifier},
    router,
};
use call_provider_http::{
    HttpProvider,
    mock::{MockCallApi, MockOptions},
};
use clap::Parser;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

/// Serve callwork's API and dashboard, and run its worker.
#[derive(Debug, Parser)]
#[command(name = "call-http", version, max_term_width = 100)]
struct Args {
    /// The address to listen on. Beyond loopback, an API key is required.
    #[arg(long, env = "CALLS_LISTEN", default_value = "127.0.0.1:4000")]
    listen: SocketAddr,

    /// The database: a SQLite file (created on first use) or a
    /// postgres://user:password@host/database URL, which any number of
    /// call-http and `calls run` processes may share; DATABASE_URL when
    /// neither this nor CALLS_DB is given, else ./calls.db.
    #[arg(long, env = "CALLS_DB", value_name = "PATH|URL")]
    db: Option<String>,

    /// PostgreSQL connections this process opens, at most (a SQLite file ignores it).
    #[arg(long, env = "CALLS_DB_POOL", default_value_t = 10, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_pool: u32,

    /// A SQLite file commits with synchronous=FULL: each commit waits for
    /// the disk, so a power loss loses no acknowledged write either (a
    /// killed process loses none without it). PostgreSQL ignores it.
    #[arg(long, env = "CALLS_FULL_SYNC")]
    full_sync: bool,

    /// Place calls through the provider at this URL (the Mock Call API, or a compatible one).
    #[arg(
        long,
        env = "CALLS_PROVIDER_URL",
        value_name = "URL",
        conflicts_with = "embedded_provider"
    )]
    provider_url: Option<String>,

    /// Run the stand-in of the Mock Call API in this process (the default without --provider-url).
    #[arg(long)]
    embedded_provider: bool,

    /// Require this key on every /api request (X-API-Key or Authorization: Bearer).
    #[arg(long, env = "CALLS_API_KEY", hide_env_values = true, value_name = "KEY")]
    api_key: Option<String>,

    /// Take provider status callbacks (POST /api/provider/webhook) only when
    /// signed with this secret, in place of the API key: Twilio's
    /// X-Twilio-Signature (the secret is the auth token) or
    /// X-Callwork-Signature: sha256=<HMAC-SHA256 hex of the body>. Behind a
    /// proxy, pass Host or X-Forwarded-Host and X-Forwarded-Proto on.
    #[arg(long, env = "CALLS_PROVIDER_SECRET", hide_env_values = true, value_name = "SECRET")]
    provider_secret: Option<String>,

    /// Serve the API only: do not place or follow calls (another process runs the worker).
    #[arg(long)]
    no_worker: bool,

    /// How long the worker's claim on a call lasts unless renewed: at least
    /// three heartbeats. A call whose worker died while placing it is
    /// failed with `outcome_unknown` once its claim expires.
    #[arg(
        long,
        env = "CALLS_LEASE",
        default_value = "60s",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    lease: String,

    /// How often the worker renews the claims of the calls it is placing.
    #[arg(
        long,
        env = "CALLS_HEARTBEAT",
        default_value = "10s",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    heartbeat: String,

    /// POST every call change, alert and survey request here as JSON; repeatable.
    #[arg(long = "notify-url", value_name = "URL")]
    notify_urls: Vec<reqwest::Url>,

    /// Sign webhook bodies: X-Callwork-Signature: sha256=<HMAC-SHA256 hex>.
    #[arg(long, env = "CALLS_NOTIFY_SECRET", hide_env_values = true, value_name = "SECRET")]
    notify_secret: Option<String>,

    /// Place calls only between these local hours in the callee's time zone
    /// (e.g. 08:00-21:00), where a call does not say otherwise.
    #[arg(long, env = "CALLS_DEFAULT_WINDOW", value_name = "HH:MM-HH:MM")]
    default_window: Option<String>,

    /// Place calls only on these days (e.g. mon-fri), where a call does not say otherwise.
    #[arg(long, env = "CALLS_DEFAULT_WINDOW_DAYS", value_name = "DAYS")]
    default_window_days: Option<String>,

    /// Dial a call again when it ends with one of these outcomes (e.g.
    /// busy,no_answer; failed is the provider's failure), where a call does
    /// not say otherwise.
    #[arg(long, env = "CALLS_DEFAULT_REDIAL", value_name = "OUTCOMES")]
    default_redial: Option<String>,

    /// The most attempts of the default redial, the first dial included [default: 3].
    #[arg(long, env = "CALLS_DEFAULT_REDIAL_MAX", value_name = "N")]
    default_redial_max: Option<u32>,

    /// How long after an attempt ends the default redial dials again [default: 10m].
    #[arg(
        long,
        env = "CALLS_DEFAULT_REDIAL_DELAY",
        value_name = "DURATION",
        allow_hyphen_values = true
    )]
    default_redial_delay: Option<String>,

    /// Read numbers written without a country code (4155550100, (415)
    /// 555-0100) as numbers of this country: a two-letter code such as US.
    #[arg(long, env = "CALLS_DEFAULT_REGION", value_name = "COUNTRY")]
    default_region: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("call-http: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Refused::Usage(message)) => {
            eprintln!("call-http: {message}");
            ExitCode::from(2)
        }
        Err(Refused::Failure(message)) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

enum Refused {
    Usage(String),
    Failure(String),
}

/// Installs the process's recorder: every figure the engine and the server
/// report goes to it, and `/metrics` renders it. Histograms are drained
/// every few seconds, so their samples do not pile up between scrapes.
fn install_prometheus() -> Result<PrometheusHandle, Refused> {
    use call_core::metrics::{PLACEMENT_LATENCY, PLACEMENT_LATENCY_BUCKETS};
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(PLACEMENT_LATENCY.into()), &PLACEMENT_LATENCY_BUCKETS)
        .map_err(|e| Refused::Failure(format!("cannot set up metrics: {e}")))?
        .install_recorder()
        .map_err(|e| Refused::Failure(format!("cannot set up metrics: {e}")))?;
    call_http::metrics::describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

async fn serve(args: Args) -> Result<(), Refused> {
    let api_key = args.api_key.as_deref().filter(|k| !k.is_empty());
    if !args.listen.ip().is_loopback() && api_key.is_none() {
        return Err(Refused::Usage(format!(
            "refusing to listen on {} without an API key: set --api-key (or CALLS_API_KEY), or listen on 127.0.0.1",
            args.listen
        )));
    }

    let default_window = CallingWindow::from_flags(
        args.default_window.as_deref(),
        args.default_window_days.as_deref(),
        None,
    )
    .map_err(|e| {
        let flag =
            if e.field().ends_with("days") { "--default-window-days" } else { "--default-window" };
        Refused::Usage(format!("invalid {flag}: {}", e.message()))
    })?;
    let default_redial = Redial::from_flags(
        args.default_redial.as_deref(),
        args.default_redial_max,
        args.default_redial_delay.as_deref(),
    )
    .map_err(|e| Refused::Usage(redial_flag_error(&e, "--default-redial")))?;
    let default_region = args
        .default_region
        .as_deref()
        .map(|r| Region::parse("--default-region", r))
        .transpose()
        .map_err(|e| Refused::Usage(format!("invalid --default-region: {}", e.message())))?;
    let config = Config { default_window, default_redial, default_region, ..Config::default() };
    let duration = |flag: &'static str, value: &str| {
        call_core::parse_duration(flag, value)
            .map_err(|e| Refused::Usage(format!("invalid {flag}: {}", e.message())))
    };
    let worker_config = WorkerConfig {
        lease: duration("--lease", &args.lease)?,
        heartbeat: duration("--heartbeat", &args.heartbeat)?,
        ..WorkerConfig::default()
    };
    worker_config
        .check()
        .map_err(|e| Refused::Usage(format!("invalid --{}: {}", e.field(), e.message())))?;

    // The provider first: its log line is the first, saying which one runs.
    let (provider, embedded): (Arc<dyn CallProvider>, Option<MockCallApi>) = match &args
        .provider_url
    {
        Some(url) => {
            let provider = HttpProvider::new(url)
                .map_err(|e| Refused::Usage(format!("invalid --provider-url: {e}")))?;
            tracing::info!(provider = %url, "placing calls through the provider at {url}");
            (Arc::new(provider), None)
        }
        None => {
            let stand_in = MockCallApi::start(MockOptions::default()).await.map_err(|e| {
                Refused::Failure(format!("cannot start the embedded provider: {e}"))
            })?;
            tracing::info!(
                provider = %stand_in.url(),
                "--embedded-provider: no --provider-url given, so calls are placed through the built-in stand-in of the Mock Call API at {}",
                stand_in.url()
            );
            let provider = HttpProvider::new(stand_in.url()).map_err(|e| {
                Refused::Failure(format!("cannot reach the embedded provider: {e}"))
            })?;
            (Arc::new(provider), Some(stand_in))
        }
    };

    let database = Database::resolve(args.db.as_deref());
    let store = database
        .open(&call_db::OpenOptions { pool_size: Some(args.db_pool), full_sync: args.full_sync })
        .await
        .map_err(|e| Refused::Failure(format!("cannot open the database: {e}")))?;
    let metrics = install_prometheus()?;
    let mut builder = AppState::builder(store).config(config).metrics(move || metrics.render());
    if let Some(secret) = &args.provider_secret {
        builder = builder.provider_secret(secret);
    }
    if let Some(key) = api_key {
        builder = builder.api_key(key);
    }
    if !args.notify_urls.is_empty() {
        let mut config = WebhookConfig::new(args.notify_urls.clone());
        config.secret = args.notify_secret.clone().filter(|s| !s.is_empty());
        let webhooks = WebhookNotifier::new(config)
            .map_err(|e| Refused::Failure(format!("cannot start webhooks: {e}")))?;
        tracing::info!(urls = ?args.notify_urls, signed = args.notify_secret.is_some(), "posting the live stream to webhooks");
        builder = builder.webhooks(webhooks);
    }
    let state = builder.build();
    state
        .live_start()
        .await
        .map_err(|e| Refused::Failure(format!("cannot read the audit log: {e}")))?;

    let (stop_worker, worker_stopped) = watch::channel(false);
    let worker = if args.no_worker {
        None
    } else {
        let worker = state
            .engine()
            .worker(provider, worker_config)
            .map_err(|e| Refused::Failure(format!("the worker's settings: {e}")))?;
        let mut stop = worker_stopped.clone();
        Some(tokio::spawn(worker.run(async move {
            let _ = stop.wait_for(|&stop| stop).await;
        })))
    };

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Refused::Failure(format!("cannot listen on {}: {e}", args.listen)))?;
    let address = listener.local_addr().map_err(|e| Refused::Failure(e.to_string()))?;
    tracing::info!(
        db = %database.describe(),
        worker = !args.no_worker,
        auth = api_key.is_some(),
        "dashboard at http://{address}/ — API at http://{address}/api, OpenAPI at http://{address}/api/openapi.json"
    );
    let app = router(state.clone());
    let closing = state.clone();
    let signal = call_signal::shutdown_signal();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            signal.await;
            tracing::info!("shutting down: finishing requests and calls in flight");
            closing.close_connections();
        })
        .await
        .map_err(|e| Refused::Failure(format!("the server failed: {e}")))?;

    let _ = stop_worker.send(true);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    if let Some(stand_in) = embedded {
        stand_in.stop().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// A redial option's error, naming the option (`--default-redial-max`).
fn redial_flag_error(error: &ValidationError, flag: &str) -> String {
    let part = match error.field() {
        "redial.max_attempts" => "-max",
        "redial.delay" => "-delay",
        _ => "",
    };
    format!("invalid {flag}{part}: {}", error.message())
}
