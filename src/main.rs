//! The `downlink` server binary.

use std::process::ExitCode;

use clap::Parser;
use downlink::server::{run, runtime, Cli};

/// mimalloc: the per-request path allocates small, short-lived buffers (headers, ETags),
/// which it serves faster than glibc's allocator (`benches/serve.sh`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let outcome = runtime()
        .map_err(Into::into)
        .and_then(|runtime| runtime.block_on(run(cli)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("downlink: {err}");
            ExitCode::FAILURE
        }
    }
}
