//! `cde-operator plan -f`: what the operator would do next, read-only, against the simulator.

use cde_operator::{
    cde::{CdeClient, ClientConfig},
    demo::{DEMO_TOKEN, EXAMPLES},
    preview::{preview, Preview},
    reconcile::credentials::DefaultToken,
    sim::{self, SimConfig, Simulator},
};

fn examples() -> String {
    EXAMPLES
        .iter()
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join("\n---\n")
}

async fn simulator() -> sim::SimServer {
    let config = SimConfig {
        token: Some(DEMO_TOKEN.into()),
        ..SimConfig::default()
    };
    let simulator = Simulator::from_seed(config, &Simulator::demo_seed()).unwrap();
    sim::serve(simulator, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// Plans the shipped examples against `server`, reading with `token` from a default token file.
async fn plan_examples(server: &sim::SimServer, token: &str) -> Preview {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let cde = CdeClient::new(ClientConfig::new(server.url())).unwrap();
    preview(
        &examples(),
        &cde,
        &DefaultToken {
            path: Some(token_file),
        },
    )
    .await
    .unwrap()
}

fn line<'a>(table: &'a str, name: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("{name} missing:\n{table}"))
}

#[tokio::test]
async fn the_plan_names_the_next_call_for_each_example_and_calls_nothing() {
    let server = simulator().await;
    let report = plan_examples(&server, &format!("{DEMO_TOKEN}\n")).await;

    assert_eq!(report.unreadable, 0, "{}", report.table);
    assert!(line(&report.table, "bolt-export-prod").contains("call sync-prod"));
    assert!(line(&report.table, "acme-feed-dev").contains("call sync-runtime"));
    assert!(line(&report.table, "cobalt-reviews-prod").contains("call recreate-from-prod-backup"));
    assert!(line(&report.table, "legacy-bridge-rolled-back").contains("call migration-rollback"));
    assert!(line(&report.table, "acme-feed-v2-prod").contains("must be built first"));
    assert!(line(&report.table, "delta-pricing-rolled-back")
        .contains("previously synchronized to production"));
    assert!(line(&report.table, "ghost-connector-dev").contains("Connector not found."));
    assert!(line(&report.table, "broken-spec").contains("refused: invalid spec"));
    let counts = server.simulator().request_counts();
    assert!(
        counts.keys().all(|k| k.starts_with("GET ")),
        "read-only: {counts:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn objects_the_cde_could_not_be_read_for_are_counted() {
    let server = simulator().await;
    let report = plan_examples(&server, "not-the-token").await;

    // Seven valid objects, every read refused with 401; the invalid one needs no read.
    assert_eq!(report.unreadable, 7, "{}", report.table);
    server.shutdown().await;
}
