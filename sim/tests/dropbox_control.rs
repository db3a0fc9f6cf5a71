//! The control side over real HTTP: the /sim/ API, webhook notifications and verification, saved state.

mod common;

use common::Harness;
use reqwest::Client;
use serde_json::{Value, json};
use sim::{AppKind, CallbackReceiver, DropboxSim, dropbox_signature};

#[tokio::test]
async fn notifications_are_signed_dropbox_webhooks() {
    let h = Harness::start().await;
    let receiver = CallbackReceiver::new();
    receiver.spawn().await.expect("spawn receiver");
    let app = h
        .sim
        .create_app(AppKind::User, Some(receiver.url("/dropbox/webhook")));
    let account = h.sim.create_account();

    assert_eq!(
        h.sim
            .notify(&app.client_id, &[&account.account_id])
            .await
            .expect("notify"),
        200
    );
    let received = receiver.received();
    let hook = &received[0];
    assert_eq!(hook.path, "/dropbox/webhook");
    assert_eq!(hook.header("user-agent"), Some("DropboxWebhooks/1.0"));
    assert_eq!(hook.header("content-type"), Some("application/json"));
    assert_eq!(
        hook.body,
        h.sim.webhook_body(&app.client_id, &[&account.account_id])
    );
    let signature = dropbox_signature(app.client_secret.as_bytes(), &hook.body);
    assert_eq!(hook.header("x-dropbox-signature"), Some(signature.as_str()));
    assert_eq!(h.sim.sign(&app.client_id, &hook.body), signature);
    assert_eq!(hook.json().expect("json")["delta"]["users"][0], account.uid);
}

#[tokio::test]
async fn control_api_drives_the_simulator() {
    let h = Harness::start().await;
    let post = |path: &str, body: Value| {
        h.http
            .post(format!("{}/sim{path}", h.base))
            .json(&body)
            .send()
    };
    let app: Value = post("/apps", json!({"kind": "user"}))
        .await
        .expect("apps")
        .json()
        .await
        .expect("json");
    let account: Value = h
        .http
        .post(format!("{}/sim/accounts", h.base))
        .send()
        .await
        .expect("accounts")
        .json()
        .await
        .expect("json");
    let account_id = account["account_id"].as_str().expect("account id");
    assert!(account_id.starts_with("dbid:AA"));

    let file: Value = post(
        "/files",
        json!({"account_id": account_id, "path": "/x/y.txt", "op": "upload"}),
    )
    .await
    .expect("files")
    .json()
    .await
    .expect("json");
    assert_eq!(file[".tag"], "file");
    let missing = post(
        "/files",
        json!({"account_id": account_id, "path": "/nope", "op": "delete"}),
    )
    .await
    .expect("files");
    assert_eq!(missing.status(), 404);
    let team: Value = post("/teams", json!({"members": 2}))
        .await
        .expect("teams")
        .json()
        .await
        .expect("json");
    assert_eq!(team["members"].as_array().map(Vec::len), Some(2));

    let code: Value = post(
        "/codes",
        json!({"client_id": app["client_id"], "subject": account_id}),
    )
    .await
    .expect("codes")
    .json()
    .await
    .expect("json");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code["code"].as_str().expect("code")),
        ("client_id", app["client_id"].as_str().expect("id")),
        (
            "client_secret",
            app["client_secret"].as_str().expect("secret"),
        ),
    ];
    assert_eq!(h.token(&form).await.status(), 200);
    let no_url = post(
        "/notify",
        json!({"client_id": app["client_id"], "accounts": [account_id]}),
    )
    .await
    .expect("notify");
    assert_eq!(no_url.status(), 400);

    let calls: Value = h
        .http
        .get(format!("{}/sim/calls", h.base))
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("json");
    assert_eq!(
        calls,
        json!([{"route": "oauth2/token", "select_user": null, "status": 200}])
    );
}

#[tokio::test]
async fn webhook_registration_is_verified_with_a_challenge() {
    use axum::extract::Query;
    use std::collections::HashMap;

    let echo = axum::Router::new().route(
        "/hook",
        axum::routing::get(|Query(q): Query<HashMap<String, String>>| async move {
            q.get("challenge").cloned().unwrap_or_default()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, echo).await });

    let sim = DropboxSim::new();
    let app = sim.create_app(AppKind::Team, Some(format!("http://{addr}/hook")));
    assert!(sim.verify_webhook(&app.client_id).await.expect("verify"));
    sim.set_webhook_url(&app.client_id, &format!("http://{addr}/elsewhere"));
    assert!(!sim.verify_webhook(&app.client_id).await.expect("verify"));
}

#[tokio::test]
async fn state_survives_a_save_and_load() {
    let sim = DropboxSim::new();
    let account = sim.create_account();
    sim.upload(&account.account_id, "/kept.txt");
    let app = sim.create_app(AppKind::User, None);
    let code = sim.authorization_code(&app.client_id, &account.account_id, None);
    let path = std::env::temp_dir().join(format!("sim-state-{}.json", std::process::id()));
    sim.save_state(&path).expect("save");

    let restored = DropboxSim::load_state(&path).expect("load");
    std::fs::remove_file(&path).expect("cleanup");
    let addr = restored.spawn().await.expect("spawn");
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &app.client_id),
        ("client_secret", &app.client_secret),
    ];
    let tokens: Value = Client::new()
        .post(format!("http://{addr}/oauth2/token"))
        .form(&form)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    assert_eq!(tokens["account_id"], account.account_id.as_str());
    assert_eq!(
        restored.upload(&account.account_id, "/kept.txt")["path_display"],
        "/kept.txt"
    );
}
