//! The server: the array store, the HTTP API and the Leptos pages, wired into one router.
//!
//! Inside, modules point one way: `store` and `repr` at the bottom, `describe` (what every
//! part says about an array) above them, then `levels`, `write` and `views`, and on top the
//! HTTP handlers (`api`) and the router here. The pages' server functions
//! (`app::data`) reach this state through [`AppState`] in their context.

pub mod api;
pub mod clock;
pub mod cors;
pub mod demo;
pub mod describe;
pub mod error;
pub mod levels;
pub mod limits;
pub mod openapi;
pub mod repr;
pub mod serve;
pub mod site;
pub mod store;
pub mod task;
pub mod views;
pub mod write;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::LazyLock;

use axum::extract::FromRef;
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::app::{shell, App};
use crate::server::error::ApiError;
use crate::server::store::Store;

/// The name of the browser bundle (`output-name` in Cargo.toml's `[package.metadata.leptos]`).
pub const OUTPUT_NAME: &str = "downlink";

/// Command-line flags of the `downlink` binary.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "downlink",
    version,
    about = "Serve NumPy arrays to browsers and scripts, and chart them."
)]
pub struct Cli {
    /// Data directory of .npy files, .npz groups and Zarr stores (a demo data set is written to a missing or empty one), or s3://BUCKET/PREFIX for the objects under a prefix of a bucket (configured by the AWS_* variables: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP).
    #[arg(long, env = "DOWNLINK_DATA", default_value = "./data")]
    pub data: String,
    /// With an s3:// data source: the local directory for what is fetched, inflated and built (default: a new folder in the system's temporary directory, removed at exit).
    #[arg(long, env = "DOWNLINK_CACHE")]
    pub cache: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "LEPTOS_SITE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Bearer token writes must carry; without one, only loopback clients may write.
    #[arg(long, env = "DOWNLINK_WRITE_TOKEN", hide_env_values = true)]
    pub write_token: Option<String>,
    /// Largest accepted upload, in bytes.
    #[arg(long, env = "DOWNLINK_MAX_UPLOAD", default_value_t = write::DEFAULT_MAX_UPLOAD)]
    pub max_upload: u64,
    /// Append to the demo's live series (demo/live) at 50 rows a second, to show streaming.
    #[arg(long)]
    pub demo_live: bool,
    /// Timeouts, the connection cap and the pool of heavy work.
    #[command(flatten)]
    pub limits: limits::Limits,
}

/// Everything a handler can reach: one shared [`AppParts`]. axum hands every request its
/// own clone of the state, so a clone is one reference count, not a copy of every part
/// (which was a few percent of a small request's time, `benches/serve.sh`).
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppParts>);

/// What [`AppState`] holds (reached through it, `state.store`).
#[derive(Debug)]
pub struct AppParts {
    /// Leptos' settings (site root, output name, ...).
    pub leptos_options: LeptosOptions,
    /// The data directory's arrays.
    pub store: Store,
    /// Level-of-detail pyramids of the arrays that were charted.
    pub levels: levels::LevelsCache,
    /// The clocks (start and rate) of arrays without timestamps.
    pub clocks: clock::Clocks,
    /// The write path: who may write, per-array locks, change events.
    pub writer: write::Writer,
    /// The pool of heavy work (conversions, wide scans, builds).
    pub heavy: limits::Heavy,
    /// Timeouts and caps.
    pub limits: limits::Limits,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// `State<Part>` extractors for each part of the state.
macro_rules! state_parts {
    ($($part:ident: $type:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $type {
            fn from_ref(state: &AppState) -> $type {
                state.$part.clone()
            }
        })*
    };
}

state_parts!(
    leptos_options: LeptosOptions,
    store: Store,
    levels: levels::LevelsCache,
    clocks: clock::Clocks,
    writer: write::Writer,
    heavy: limits::Heavy,
    limits: limits::Limits,
);

impl AppState {
    /// The state for a data directory (pyramids persist under `DIR/.downlink/lod`), with
    /// the default limits.
    pub fn new(
        leptos_options: LeptosOptions,
        data: impl Into<PathBuf>,
        write: write::WriteConfig,
    ) -> AppState {
        AppState::with_limits(leptos_options, data, write, &limits::Limits::default())
    }

    /// [`AppState::new`] with `limits`.
    pub fn with_limits(
        leptos_options: LeptosOptions,
        data: impl Into<PathBuf>,
        write: write::WriteConfig,
        limits: &limits::Limits,
    ) -> AppState {
        AppState::over(leptos_options, Store::new(data), write, limits)
    }

    /// The state over `store`: pyramids, clocks and temporary files under its root (the
    /// data directory, or a bucket's local cache directory).
    pub fn over(
        leptos_options: LeptosOptions,
        store: Store,
        write: write::WriteConfig,
        limits: &limits::Limits,
    ) -> AppState {
        let root = store.root().to_path_buf();
        let heavy = limits.heavy_pool();
        let mut levels =
            levels::LevelsCache::new(root.join(".downlink").join("lod"), heavy.clone());
        let clock_dir = root.join(".downlink").join("clock");
        let clocks = match store.bucket() {
            Some(bucket) => {
                levels = levels.shared_in(Arc::clone(bucket));
                clock::Clocks::in_bucket(clock_dir, Arc::clone(bucket))
            }
            None => clock::Clocks::new(clock_dir),
        };
        let budget = store.decode_budget();
        budget.set_max(limits.decode_cache_max);
        let forget = levels.clone();
        budget.on_evict(move |_, group| forget.forget_group(group));
        AppState(Arc::new(AppParts {
            leptos_options,
            levels,
            clocks,
            writer: write::Writer::new(&root, write),
            store,
            heavy,
            limits: limits.clone(),
        }))
    }
}

/// The pages' routes, listed once per process. Listing renders the app with resources
/// suppressed through a process-wide flag (`leptos::server::SuppressResourceLoad`): a page
/// rendered while another router is being built would wait forever for its resources (see
/// `tests/pages.rs`). Listing once, before the first router exists, keeps every render clear
/// of it.
static PAGE_ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

/// The whole application: API, pages, static files.
pub fn router(state: AppState) -> Router {
    let api = api::routes()
        .route("/api/{*rest}", any(api_not_found))
        // An upload whose body stalls is abandoned (408, nothing stored).
        .layer(RequestBodyTimeoutLayer::new(state.limits.body_timeout()))
        .layer(cors::CorsLayer);
    let options = state.leptos_options.clone();
    Router::new()
        .merge(api)
        .leptos_routes(&state, PAGE_ROUTES.clone(), move || shell(options.clone()))
        .nest_service("/pkg", site::pkg_service(&state.leptos_options))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
}

async fn api_not_found() -> impl IntoResponse {
    ApiError::NotFound("no such API endpoint; see /api/arrays".into())
}

/// Stack of each runtime worker thread. Rendering a page recurses through its nested view
/// types; a debug build needs more than the 2 MiB default for the chart page.
pub const WORKER_STACK_BYTES: usize = 8 << 20;

/// The multi-threaded runtime the server runs on.
///
/// # Errors
/// When the operating system refuses the threads.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
}

/// Start serving: write the demo data if needed, bind, and run until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the configuration cannot be read, the demo cannot be written or the address bound.
pub async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let conf = get_configuration(None)?;
    let mut leptos_options = conf.leptos_options;
    leptos_options.site_addr = cli.addr;
    // cargo-leptos bakes the bundle's name into the binary; a plain `cargo build` does not,
    // and the pages would then load `/pkg/.js`. The name is fixed in Cargo.toml.
    if leptos_options.output_name.is_empty() {
        leptos_options.output_name = OUTPUT_NAME.into();
    }
    // A site built with hashed file names (cargo-leptos' `hash-files`) leaves the hashes in
    // a file beside the binary; when it is there, the pages link the hashed names.
    if !leptos_options.hash_files {
        leptos_options.hash_files = site::hash_file(&leptos_options).is_some_and(|p| p.exists());
    }

    site::precompress_in_background(PathBuf::from(&*leptos_options.site_root));

    let (store, temporary_cache) = open_store(&cli).await?;
    let config = write::WriteConfig {
        token: cli.write_token.clone().filter(|t| !t.is_empty()),
        max_upload: cli.max_upload,
    };
    let state = AppState::over(leptos_options, store, config, &cli.limits);
    state.writer.clean_temporaries()?;
    state.store.clear_inflated()?;
    if cli.demo_live {
        demo::spawn_live(state.clone());
    }
    let events = state.writer.events().clone();
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(cli.addr).await?;
    tracing::info!(
        "Downlink serving {} on http://{}",
        cli.data,
        listener.local_addr()?
    );
    let shutdown = async move {
        shutdown_signal().await;
        // Live event streams never end by themselves: end them, so connections can close.
        events.close();
    };
    serve::serve(listener, app, &cli.limits, shutdown).await?;
    if let Some(cache) = temporary_cache {
        let _ = std::fs::remove_dir_all(cache);
    }
    Ok(())
}

/// The store `--data` names: a bucket (checked to answer, its cache directory made, and
/// returned when it is a temporary one), or a directory (with the demo data set written to
/// a missing or empty one).
async fn open_store(cli: &Cli) -> Result<(Store, Option<PathBuf>), Box<dyn std::error::Error>> {
    if cli.data.starts_with("s3://") {
        let bucket = store::remote::Bucket::open(&cli.data)?;
        let (cache, temporary) = match &cli.cache {
            Some(cache) => (cache.clone(), false),
            None => (
                std::env::temp_dir().join(format!("downlink-cache-{}", std::process::id())),
                true,
            ),
        };
        std::fs::create_dir_all(&cache)?;
        let store = Store::in_bucket(bucket, &cache);
        let checking = store.clone();
        tokio::task::spawn_blocking(move || checking.bucket().map(|b| b.check()))
            .await?
            .transpose()?;
        return Ok((store, temporary.then_some(cache)));
    }
    let data = PathBuf::from(&cli.data);
    let writing = data.clone();
    if tokio::task::spawn_blocking(move || demo::ensure_demo(&writing)).await?? {
        tracing::info!(dir = %data.display(), "wrote the demo data set");
    }
    Ok((Store::new(data), None))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
