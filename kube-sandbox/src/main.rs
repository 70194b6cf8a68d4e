//! `kube-sandbox`: serve a sandbox API server on 127.0.0.1 until Ctrl-C,
//! optionally writing a kubeconfig for `kubectl` and other clients.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use kube_sandbox::Sandbox;

/// In-process Kubernetes API server for demos and tests (plain HTTP, 127.0.0.1 only).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write a kubeconfig pointing at the sandbox.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();

    let sandbox = Sandbox::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
        .await
        .context("starting the sandbox")?;
    if let Some(path) = &args.kubeconfig {
        sandbox
            .write_kubeconfig(path)
            .with_context(|| format!("writing kubeconfig to {}", path.display()))?;
        println!(
            "kube-sandbox serving {} (kubeconfig: {})",
            sandbox.url(),
            path.display()
        );
    } else {
        println!("kube-sandbox serving {}", sandbox.url());
    }

    stop_signal().await;
    sandbox.shutdown().await;
    Ok(())
}
