//! A harness shared by the HTTP tests: a spawned simulator, a client, and helpers for Dropbox calls.
// Each test crate uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;

use reqwest::{Client, Response};
use serde_json::Value;
use sim::{AppKind, DropboxSim, Team};

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

    /// Authorizes a fresh team app for a fresh team of `members`; returns the team and its access token.
    pub async fn team_login(&self, members: usize) -> (Team, String) {
        let app = self.sim.create_app(AppKind::Team, None);
        let team = self.sim.create_team(members);
        let code = self
            .sim
            .authorization_code(&app.client_id, &team.team_id, None);
        let response = self
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &app.client_id),
                ("client_secret", &app.client_secret),
            ])
            .await;
        assert_eq!(response.status(), 200);
        let tokens: Value = response.json().await.expect("json");
        let token = tokens["access_token"].as_str().expect("token").to_owned();
        (team, token)
    }

    /// A raw RPC call with exactly this `Content-Type` (if any) and body.
    pub async fn raw_rpc(
        &self,
        route: &str,
        token: &str,
        content_type: Option<&str>,
        body: &'static str,
    ) -> Response {
        let mut request = self
            .http
            .post(format!("{}/2/{route}", self.base))
            .bearer_auth(token)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.expect("rpc call")
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
