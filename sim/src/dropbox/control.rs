//! The control HTTP API under `/sim/`: DropboxSim's control methods as JSON endpoints, for scripts using curl.

use axum::extract::{Path, State as Sim};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::files::Metadata;
use super::model::{Account, ApiCall, App, AppKind, Member, Team};
use super::{DropboxSim, webhook};
use crate::SimError;

pub(crate) fn router() -> Router<DropboxSim> {
    Router::new()
        .route("/apps", post(create_app))
        .route("/apps/{client_id}/webhook", post(set_webhook_url))
        .route("/apps/{client_id}/verify", post(verify_webhook))
        .route("/accounts", post(create_account))
        .route("/teams", post(create_team))
        .route("/teams/{team_id}/members", post(add_team_member))
        .route("/codes", post(authorization_code))
        .route("/tokens", post(generate_access_token))
        .route("/files", post(change_file))
        .route("/notify", post(notify))
        .route("/reset", post(reset_cursors))
        .route("/expire-tokens", post(expire_tokens))
        .route("/settings", post(settings))
        .route("/fail", post(fail_next))
        .route("/calls", get(calls).delete(clear_calls))
}

/// A control call that could not be carried out, answered as `{"error": "…"}`.
struct ControlError(SimError);

impl From<SimError> for ControlError {
    fn from(error: SimError) -> Self {
        Self(error)
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            SimError::UnknownApp(_) | SimError::UnknownAccount(_) | SimError::UnknownTeam(_) => {
                StatusCode::NOT_FOUND
            }
            SimError::NotFound(_) => StatusCode::NOT_FOUND,
            SimError::Conflict(_) => StatusCode::CONFLICT,
            SimError::Http(_) => StatusCode::BAD_GATEWAY,
            SimError::Io(_) | SimError::Json(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        (status, Json(json!({"error": self.0.to_string()}))).into_response()
    }
}

type Answer<T> = Result<Json<T>, ControlError>;

fn ok() -> Json<Value> {
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct NewApp {
    kind: AppKind,
    webhook_url: Option<String>,
}

async fn create_app(Sim(sim): Sim<DropboxSim>, Json(req): Json<NewApp>) -> Json<App> {
    Json(sim.create_app(req.kind, req.webhook_url))
}

#[derive(Deserialize)]
struct WebhookUrl {
    url: String,
}

async fn set_webhook_url(
    Sim(sim): Sim<DropboxSim>,
    Path(client_id): Path<String>,
    Json(req): Json<WebhookUrl>,
) -> Answer<Value> {
    sim.with_state(|state| state.set_webhook_url(&client_id, &req.url))?;
    Ok(ok())
}

async fn verify_webhook(Sim(sim): Sim<DropboxSim>, Path(client_id): Path<String>) -> Answer<Value> {
    let verified = sim.verify_webhook(&client_id).await?;
    Ok(Json(json!({"verified": verified})))
}

async fn create_account(Sim(sim): Sim<DropboxSim>) -> Json<Account> {
    Json(sim.create_account())
}

#[derive(Deserialize)]
struct NewTeam {
    members: usize,
}

async fn create_team(Sim(sim): Sim<DropboxSim>, Json(req): Json<NewTeam>) -> Json<Team> {
    Json(sim.create_team(req.members))
}

async fn add_team_member(Sim(sim): Sim<DropboxSim>, Path(team_id): Path<String>) -> Answer<Member> {
    Ok(Json(
        sim.with_state(|state| state.add_team_member(&team_id))?,
    ))
}

#[derive(Deserialize)]
struct NewCode {
    client_id: String,
    subject: String,
    redirect_uri: Option<String>,
}

async fn authorization_code(Sim(sim): Sim<DropboxSim>, Json(req): Json<NewCode>) -> Answer<Value> {
    let redirect_uri = req.redirect_uri.as_deref();
    let code = sim
        .with_state(|state| state.authorization_code(&req.client_id, &req.subject, redirect_uri))?;
    Ok(Json(json!({"code": code})))
}

#[derive(Deserialize)]
struct NewToken {
    client_id: String,
    subject: String,
}

async fn generate_access_token(
    Sim(sim): Sim<DropboxSim>,
    Json(req): Json<NewToken>,
) -> Answer<Value> {
    let token =
        sim.with_state(|state| state.generate_access_token(&req.client_id, &req.subject))?;
    Ok(Json(json!({"access_token": token})))
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FileOp {
    Upload,
    Folder,
    Delete,
}

#[derive(Deserialize)]
struct FileChange {
    account_id: String,
    path: String,
    op: FileOp,
}

async fn change_file(Sim(sim): Sim<DropboxSim>, Json(req): Json<FileChange>) -> Answer<Metadata> {
    let (account, path) = (req.account_id.as_str(), req.path.as_str());
    let metadata = sim.with_state(|state| match req.op {
        FileOp::Upload => state.upload(account, path),
        FileOp::Folder => state.create_folder(account, path),
        FileOp::Delete => state.delete(account, path),
    })?;
    Ok(Json(metadata))
}

#[derive(Deserialize)]
struct Notify {
    client_id: String,
    accounts: Vec<String>,
}

/// Sends the webhook and answers what the endpoint answered, with the exact body and signature sent.
async fn notify(Sim(sim): Sim<DropboxSim>, Json(req): Json<Notify>) -> Answer<Value> {
    let accounts: Vec<&str> = req.accounts.iter().map(String::as_str).collect();
    let hook = sim.with_state(|state| state.webhook(&req.client_id, &accounts))?;
    let url = hook
        .url
        .ok_or_else(|| SimError::NoWebhookUrl(req.client_id.clone()))?;
    let status =
        webhook::deliver(&sim.inner.http, &url, hook.body.clone(), &hook.signature).await?;
    Ok(Json(
        json!({"status": status, "body": hook.body, "signature": hook.signature}),
    ))
}

#[derive(Deserialize)]
struct Reset {
    account_id: String,
}

async fn reset_cursors(Sim(sim): Sim<DropboxSim>, Json(req): Json<Reset>) -> Answer<Value> {
    sim.with_state(|state| state.reset_cursors(&req.account_id))?;
    Ok(ok())
}

async fn expire_tokens(Sim(sim): Sim<DropboxSim>) -> Json<Value> {
    sim.expire_tokens();
    ok()
}

#[derive(Deserialize)]
struct Settings {
    token_lifetime: Option<u64>,
    page_size: Option<usize>,
}

async fn settings(Sim(sim): Sim<DropboxSim>, Json(req): Json<Settings>) -> Json<Value> {
    if let Some(secs) = req.token_lifetime {
        sim.set_token_lifetime(secs);
    }
    if let Some(n) = req.page_size {
        sim.set_page_size(n);
    }
    ok()
}

#[derive(Deserialize)]
struct Fail {
    n: usize,
    status: u16,
    retry_after: Option<u64>,
}

async fn fail_next(Sim(sim): Sim<DropboxSim>, Json(req): Json<Fail>) -> Json<Value> {
    sim.fail_next(req.n, req.status, req.retry_after);
    ok()
}

async fn calls(Sim(sim): Sim<DropboxSim>) -> Json<Vec<ApiCall>> {
    Json(sim.calls())
}

async fn clear_calls(Sim(sim): Sim<DropboxSim>) -> Json<Value> {
    sim.clear_calls();
    ok()
}
