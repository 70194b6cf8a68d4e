//! Waiting for the servers to come up: etcd's client port, then kube-apiserver's `/readyz`.
//!
//! Both waits watch the processes too, so a server that exits (a bad flag, a port taken by
//! another process) fails the start at once with the end of its log, instead of after the
//! timeout.

use std::time::{Duration, Instant};

use crate::error::EnvtestError;
use crate::process::ServerProcess;

pub(crate) fn exited(process: &mut ServerProcess) -> Option<EnvtestError> {
    let status = process.exit_status()?;
    Some(EnvtestError::Exited {
        process: process.name,
        status: status.to_string(),
        log: process.log.clone(),
        tail: process.log_tail(4096),
    })
}

/// Waits until etcd accepts connections on its client port.
pub(crate) async fn wait_for_port(
    etcd: &mut ServerProcess,
    port: u16,
    timeout: Duration,
) -> Result<(), EnvtestError> {
    let started = Instant::now();
    loop {
        if let Some(error) = exited(etcd) {
            return Err(error);
        }
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(_) => return Ok(()),
            Err(error) if started.elapsed() >= timeout => {
                return Err(EnvtestError::NotReady {
                    waited: started.elapsed(),
                    last_answer: format!("etcd port {port}: {error}"),
                    log: etcd.log.clone(),
                    tail: etcd.log_tail(4096),
                });
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Polls `/readyz` until it answers `ok`, failing early when either process exits.
pub(crate) async fn wait_until_ready(
    client: &kube::Client,
    apiserver: &mut ServerProcess,
    etcd: &mut ServerProcess,
    timeout: Duration,
) -> Result<(), EnvtestError> {
    let started = Instant::now();
    loop {
        if let Some(error) = exited(apiserver).or_else(|| exited(etcd)) {
            return Err(error);
        }
        let mut request = http::Request::new(Vec::new());
        *request.uri_mut() = http::Uri::from_static("/readyz");
        let last_answer = match tokio::time::timeout(
            Duration::from_secs(5),
            client.request_text(request),
        )
        .await
        {
            Ok(Ok(body)) if body.trim() == "ok" => return Ok(()),
            Ok(Ok(body)) => body,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "no answer within 5s".to_owned(),
        };
        if started.elapsed() >= timeout {
            return Err(EnvtestError::NotReady {
                waited: started.elapsed(),
                last_answer,
                log: apiserver.log.clone(),
                tail: apiserver.log_tail(4096),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
