//! A harness shared by the HTTP tests: a spawned simulator, a client, and helpers for Dropbox calls.
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;

use reqwest::{Client, Response};
use serde_json::Value;
use sim::{AppKind, DropboxSim};

pub struct Harness {
    pub sim: DropboxSim,
    pub base: String,
    pub http: Client,
}

impl Harness {
    pub async fn start() -> Self {
        let sim = DropboxSim::new();
        let addr: SocketAddr = sim.spawn().await.expect("spawn");
        Self {
            sim,
            base: format!("http://{addr}"),
            http: Client::new(),
        }
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}/oauth2/token", self.base))
            .form(form)
            .send()
            .await
            .expect("token call")
    }

    pub async fn rpc(
        &self,
        route: &str,
        token: &str,
        select_user: Option<&str>,
        arg: Value,
    ) -> Response {
        let mut request = self
            .http
            .post(format!("{}/2/{route}", self.base))
            .bearer_auth(token)
            .json(&arg);
        if let Some(member) = select_user {
            request = request.header("Dropbox-API-Select-User", member);
        }
        request.send().await.expect("rpc call")
    }

    /// Authorizes a fresh user app for a fresh account; returns (client_id, secret, account_id, token response).
    pub async fn user_login(&self) -> (String, String, String, Value) {
        let app = self.sim.create_app(AppKind::User, None);
        let account = self.sim.create_account().account_id;
        let code =
            self.sim
                .authorization_code(&app.client_id, &account, Some("http://localhost/cb"));
        let response = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
                ("redirect_uri", "http://localhost/cb"),
            ])
            .await;
        assert_eq!(response.status(), 200);
        (
            app.client_id,
            app.client_secret,
            account,
            response.json().await.expect("json"),
        )
    }
}

pub fn paths(page: &Value) -> Vec<String> {
    let entries = page["entries"].as_array().expect("entries");
    entries
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e[".tag"].as_str().unwrap_or("?"),
                e["path_lower"].as_str().unwrap_or("?")
            )
        })
        .collect()
}
