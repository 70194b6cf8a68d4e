//! An HTTP client for the CDE simulator, shared by the simulator's tests.

#![allow(dead_code)] // each test binary uses a different part

use std::time::Duration;

use cde_operator::sim::{serve, SimConfig, SimServer, Simulator};
use serde_json::Value;

/// A served simulator and a plain HTTP client for it.
pub struct Cde {
    pub server: SimServer,
    pub http: reqwest::Client,
}

impl Cde {
    pub async fn start(config: SimConfig) -> Self {
        let server = serve(Simulator::demo(config), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        Self {
            server,
            http: reqwest::Client::new(),
        }
    }

    /// The demo seed with background work taking `delay`.
    pub async fn demo(delay: Duration) -> Self {
        Self::start(SimConfig {
            job_delay: delay,
            transition_delay: delay,
            ..SimConfig::default()
        })
        .await
    }

    pub fn sim(&self) -> &Simulator {
        self.server.simulator()
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(self.http.get(format!("{}{path}", self.server.url())))
            .await
    }

    pub async fn post(&self, path: &str) -> (u16, Value) {
        self.send(self.http.post(format!("{}{path}", self.server.url())))
            .await
    }

    /// `POST V/<action>` for a version.
    pub async fn act(&self, connector: &str, major: u32, action: &str) -> (u16, Value) {
        self.post(&format!(
            "/connectors/{connector}/versions/{major}/{action}"
        ))
        .await
    }

    /// The version as `GET /connectors/{publicId}` shows it.
    pub async fn version(&self, connector: &str, major: u32) -> Value {
        let (status, body) = self.get(&format!("/connectors/{connector}")).await;
        assert_eq!(status, 200, "{body}");
        let prefix = format!("{major}.");
        body["data"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["version"].as_str().unwrap().starts_with(&prefix))
            .unwrap()
            .clone()
    }
}
