//! The `cde-operator` command line: run the controller, print the CRD, preview a plan, run the
//! CDE simulator, or run the whole thing on a local sandbox.

// NB: doc comments here are clap's --help text, where Markdown backticks would show literally.
#![allow(clippy::doc_markdown)]

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};

use cde_operator::{
    cde::{endpoints::Endpoints, CdeClient, ClientConfig},
    controller::{self, WatchScope, Wiring},
    demo,
    leader::{Leadership, LeaseConfig},
    preview,
    reconcile::{context::Settings, credentials::DefaultToken},
    sim,
    telemetry::{self, LogFormat, Metrics, Readiness},
};

#[derive(Parser)]
#[command(
    name = "cde-operator",
    version,
    about = "Keeps Productsup CDE connector versions in the deployment stage a cluster declares"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller against the cluster of the current kubeconfig (or in-cluster config).
    Run(RunArgs),
    /// Print the ConnectorVersion CRD as YAML.
    Crd,
    /// Read-only: show what the operator would do next for the objects in FILE, against the live CDE API.
    Plan(PlanArgs),
    /// Run the CDE API simulator on a local port.
    Simulate(SimulateArgs),
    /// Start the simulator and a local Kubernetes API, apply deploy/examples, reconcile them and print the result.
    Demo(DemoArgs),
}

#[derive(Args, Clone)]
struct CdeArgs {
    /// Base URL of the CDE API.
    #[arg(
        long,
        env = "CDE_BASE_URL",
        default_value = "https://cde.staging.productsup.com"
    )]
    cde_base_url: String,
    /// File holding the bearer token used for objects without spec.credentials (re-read on every use).
    #[arg(long, env = "CDE_DEFAULT_TOKEN_FILE")]
    default_token_file: Option<PathBuf>,
    /// Override one endpoint of the CDE table: NAME=METHOD /path (repeatable).
    #[arg(long = "endpoint", value_name = "NAME=METHOD PATH")]
    endpoints: Vec<String>,
    /// Remote calls per second, across all objects.
    #[arg(long, env = "CDE_RATE_LIMIT", default_value_t = 10.0)]
    rate_limit: f64,
    /// Timeout of one CDE request.
    #[arg(long, env = "CDE_REQUEST_TIMEOUT", default_value = "15s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
}

impl CdeArgs {
    fn client(&self) -> anyhow::Result<CdeClient> {
        let mut endpoints = Endpoints::default();
        for o in &self.endpoints {
            endpoints
                .apply_override(o)
                .with_context(|| format!("--endpoint {o}"))?;
        }
        let mut config = ClientConfig::new(self.cde_base_url.clone());
        config.endpoints = endpoints;
        config.rate_limit_per_second = self.rate_limit;
        config.request_timeout = self.request_timeout;
        Ok(CdeClient::new(config)?)
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    cde: CdeArgs,
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Watch only objects matching this label selector.
    #[arg(long, env = "LABEL_SELECTOR")]
    label_selector: Option<String>,
    /// Objects reconciled at once.
    #[arg(long, env = "CONCURRENCY", default_value_t = 4)]
    concurrency: u16,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "HEALTH_ADDR", default_value = "0.0.0.0:8080")]
    health_addr: SocketAddr,
    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Elect a leader on a Lease so that only one replica reconciles.
    #[arg(long, env = "LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    leader_election: bool,
    /// Namespace of the leader-election Lease (in a pod: its own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
}

#[derive(Args)]
struct PlanArgs {
    /// YAML file with one or more ConnectorVersion documents.
    #[arg(short = 'f', long = "file")]
    file: PathBuf,
    #[command(flatten)]
    cde: CdeArgs,
}

#[derive(Args)]
struct SimulateArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8089)]
    port: u16,
    /// Seed file (JSON); default: the built-in demo seed.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Require this bearer token (default: any token is accepted).
    #[arg(long, env = "SIM_TOKEN")]
    token: Option<String>,
    /// How long background jobs and transitional states last.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    delay: Duration,
}

#[derive(Args)]
struct DemoArgs {
    /// Keep the sandbox running afterwards and print a kubeconfig path.
    #[arg(long)]
    hold: bool,
    /// Folder of example manifests (default: the examples built into the binary).
    #[arg(long)]
    examples: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Crd => {
            print!("{}", cde_operator::resource::crd_yaml()?);
            Ok(())
        }
        Command::Plan(args) => {
            telemetry::init_logging(LogFormat::Text);
            let client = args.cde.client()?;
            let token = DefaultToken {
                path: args.cde.default_token_file.clone(),
            };
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("reading {}", args.file.display()))?;
            let report = preview::preview(&text, &client, &token).await?;
            print!("{}", report.table);
            if report.unreadable > 0 {
                bail!(
                    "the CDE API could not be read for {} object(s); the plan above is incomplete",
                    report.unreadable
                );
            }
            Ok(())
        }
        Command::Simulate(args) => simulate(args).await,
        Command::Demo(args) => {
            // The demo's output is its table; RUST_LOG=info shows the operator at work.
            telemetry::init_logging_at(LogFormat::Text, "warn");
            let outcome = demo::run(demo::DemoOptions {
                hold: args.hold,
                examples: args.examples,
            })
            .await?;
            if !outcome.all_as_expected {
                bail!("some examples did not end as expected (see the table above)");
            }
            Ok(())
        }
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    telemetry::init_logging(args.log_format);
    let kube = kube::Client::try_default()
        .await
        .context("no Kubernetes configuration (kubeconfig or in-cluster)")?;
    let cde = args.cde.client()?;
    let metrics = Metrics::new(&cde);
    let ready = Readiness::default();

    // Bind first, so a taken address is an error now rather than a silent missing endpoint.
    let health_listener = tokio::net::TcpListener::bind(args.health_addr)
        .await
        .with_context(|| {
            format!(
                "binding the health and metrics address {}",
                args.health_addr
            )
        })?;
    let health = {
        let (metrics, ready) = (metrics.clone(), ready.clone());
        tokio::spawn(async move {
            if let Err(e) = telemetry::serve_health(health_listener, metrics, ready).await {
                tracing::error!(error = %e, "the health and metrics server stopped");
            }
        })
    };

    let identity = std::env::var("POD_NAME")
        .unwrap_or_else(|_| format!("cde-operator-{}", std::process::id()));
    let leadership = if args.leader_election {
        let config = LeaseConfig::new(args.lease_namespace.clone(), identity.clone());
        Some(Leadership::acquire(kube.clone(), config).await)
    } else {
        None
    };
    let lost = leadership.as_ref().map(Leadership::lost);

    let wiring = Wiring {
        kube,
        cde,
        default_token: DefaultToken {
            path: args.cde.default_token_file.clone(),
        },
        settings: Settings::default(),
        metrics,
        scope: WatchScope {
            namespace: args.namespace,
            label_selector: args.label_selector,
            concurrency: args.concurrency,
        },
        instance: Some(identity),
        ready: Some(ready.clone()),
    };
    // The controller stops on a signal, or when another replica took the Lease.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(None::<Stop>);
    tokio::spawn(async move {
        let why = if let Some(lost) = lost {
            tokio::select! {
                () = shutdown_signal() => Stop::Signal,
                () = lost => Stop::LostLeadership,
            }
        } else {
            shutdown_signal().await;
            Stop::Signal
        };
        let _ = stop_tx.send(Some(why));
    });
    let mut stopping = stop_rx.clone();
    controller::run(wiring, async move {
        let _ = stopping.wait_for(Option::is_some).await;
    })
    .await;
    health.abort();

    if *stop_rx.borrow() == Some(Stop::LostLeadership) {
        // Exiting lets Kubernetes restart the pod as a fresh candidate; going on could act
        // alongside the new leader.
        bail!("lost the leader-election Lease; exiting so that only the new leader acts");
    }
    if let Some(leadership) = leadership {
        leadership.release().await;
    }
    Ok(())
}

/// Why the controller stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Signal,
    LostLeadership,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

async fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    telemetry::init_logging(LogFormat::Text);
    let seed = match &args.seed {
        Some(path) => {
            sim::Seed::from_file(path).with_context(|| format!("seed {}", path.display()))?
        }
        None => sim::Simulator::demo_seed(),
    };
    let config = sim::SimConfig {
        token: args.token,
        job_delay: args.delay,
        transition_delay: args.delay,
        ..sim::SimConfig::default()
    };
    let simulator = sim::Simulator::from_seed(config, &seed)?;
    let server = sim::serve(simulator, SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
    println!(
        "CDE simulator listening on {} (Ctrl-C to stop)",
        server.url()
    );
    shutdown_signal().await;
    server.shutdown().await;
    Ok(())
}
