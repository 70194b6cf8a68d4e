//! `kube-envtest`: serves a real kube-apiserver by hand, and installs etcd into the binary
//! cache for `build-binaries.sh`.
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kube_envtest::{Envtest, EnvtestOptions, TokenUser};

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start etcd and kube-apiserver on 127.0.0.1 and serve until Ctrl-C.
    Up {
        /// Directory with kube-apiserver and etcd (default: the build script's cache).
        #[arg(long, env = "KUBE_ENVTEST_BIN_DIR")]
        bin_dir: Option<PathBuf>,
        /// Also copy the admin kubeconfig here.
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
        /// A static token user, `NAME:TOKEN` or `NAME:TOKEN:GROUP,GROUP` (repeatable).
        #[arg(long = "user", value_parser = parse_user)]
        users: Vec<TokenUser>,
        /// Keep the directory with logs, certificates and etcd data afterwards.
        #[arg(long)]
        keep_dir: bool,
    },
    /// Copy the etcd binary of the `etcd-bin-vendored-linux-amd64` crate into DIR.
    InstallEtcd { dir: PathBuf },
}

fn parse_user(spec: &str) -> Result<TokenUser, String> {
    let mut parts = spec.splitn(3, ':');
    let (Some(name), Some(token)) = (parts.next(), parts.next()) else {
        return Err("expected NAME:TOKEN or NAME:TOKEN:GROUP,GROUP".to_owned());
    };
    let groups = parts
        .next()
        .map(|groups| groups.split(',').map(str::to_owned).collect::<Vec<_>>())
        .unwrap_or_default();
    Ok(TokenUser::new(name, token, groups))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "kube_envtest=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    match Cli::parse().command {
        Command::InstallEtcd { dir } => {
            let path = kube_envtest::binaries::install_vendored_etcd(&dir)?;
            println!("{}", path.display());
        }
        Command::Up {
            bin_dir,
            kubeconfig,
            users,
            keep_dir,
        } => {
            let envtest = Envtest::start(EnvtestOptions {
                binaries_dir: bin_dir,
                users,
                keep_dir,
                ..EnvtestOptions::default()
            })
            .await?;
            let mut kubeconfig_path = envtest.kubeconfig_path();
            if let Some(copy) = kubeconfig {
                std::fs::copy(&kubeconfig_path, &copy)
                    .with_context(|| format!("copying the kubeconfig to {}", copy.display()))?;
                kubeconfig_path = copy;
            }
            let (apiserver_pid, etcd_pid) = envtest.pids();
            let pid = |pid: Option<u32>| pid.map_or_else(|| "-".to_owned(), |pid| pid.to_string());
            println!(
                "kube-apiserver at {} (pid {}), etcd pid {}",
                envtest.server_url(),
                pid(apiserver_pid),
                pid(etcd_pid)
            );
            println!("logs in {}", envtest.dir().display());
            println!("export KUBECONFIG={}", kubeconfig_path.display());
            println!("Ctrl-C stops both.");

            wait_for_stop_signal().await?;
            envtest.shutdown()?;
        }
    }
    Ok(())
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
