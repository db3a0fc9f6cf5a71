//! The simulated Dropbox API over real HTTP: OAuth, list_folder paging, team rules, expiry and faults.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Harness, paths};
use serde_json::{Value, json};
use sim::{AppKind, DropboxSim};
use tower::ServiceExt as _;

#[tokio::test]
async fn user_app_lists_and_follows_changes() {
    let h = Harness::start().await;
    let (_, _, account, tokens) = h.user_login().await;
    assert_eq!(tokens["account_id"], account.as_str());
    let token = tokens["access_token"].as_str().expect("access token");
    h.sim.upload(&account, "/Docs/report.pdf");
    h.sim.set_page_size(1);

    let mut page: Value = h
        .rpc(
            "files/list_folder",
            token,
            None,
            json!({"path": "", "recursive": true}),
        )
        .await
        .json()
        .await
        .expect("json");
    let mut listed = paths(&page);
    while page["has_more"] == true {
        page = h
            .rpc(
                "files/list_folder/continue",
                token,
                None,
                json!({"cursor": page["cursor"]}),
            )
            .await
            .json()
            .await
            .expect("json");
        listed.extend(paths(&page));
    }
    assert_eq!(listed, ["folder /docs", "file /docs/report.pdf"]);

    h.sim.set_page_size(500);
    h.sim.delete(&account, "/Docs");
    let changes: Value = h
        .rpc(
            "files/list_folder/continue",
            token,
            None,
            json!({"cursor": page["cursor"]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(paths(&changes), ["deleted /docs"]);
    assert_eq!(changes["entries"][0].get("id"), None);

    h.sim.reset_cursors(&account);
    let reset = h
        .rpc(
            "files/list_folder/continue",
            token,
            None,
            json!({"cursor": changes["cursor"]}),
        )
        .await;
    assert_eq!(reset.status(), 409);
    let body: Value = reset.json().await.expect("json");
    assert_eq!(body["error"][".tag"], "reset");
    assert!(
        body["error_summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("reset/"))
    );

    let garbage = h
        .rpc(
            "files/list_folder/continue",
            token,
            None,
            json!({"cursor": "AAAA"}),
        )
        .await;
    assert_eq!(garbage.status(), 400);
    assert!(garbage.text().await.expect("text").contains("cursor"));

    let statuses: Vec<(String, u16)> = h
        .sim
        .calls()
        .into_iter()
        .map(|c| (c.route, c.status))
        .collect();
    assert_eq!(statuses.first(), Some(&("oauth2/token".to_owned(), 200)));
    assert_eq!(
        statuses.last(),
        Some(&("files/list_folder/continue".to_owned(), 400))
    );
}

#[tokio::test]
async fn expired_tokens_answer_401_until_refreshed_with_basic_auth() {
    let h = Harness::start().await;
    let (client_id, secret, _, tokens) = h.user_login().await;
    let token = tokens["access_token"].as_str().expect("token");
    h.sim.expire_tokens();
    let expired = h
        .rpc("files/list_folder", token, None, json!({"path": ""}))
        .await;
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired.json::<Value>().await.expect("json")["error"][".tag"],
        "expired_access_token"
    );
    let unknown = h
        .rpc("files/list_folder", "sl.nope", None, json!({"path": ""}))
        .await;
    assert_eq!(
        unknown.json::<Value>().await.expect("json")["error"][".tag"],
        "invalid_access_token"
    );

    let refreshed = h
        .http
        .post(format!("{}/oauth2/token", h.base))
        .basic_auth(&client_id, Some(&secret))
        .form(&[
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                tokens["refresh_token"].as_str().expect("refresh"),
            ),
        ])
        .send()
        .await
        .expect("refresh");
    let refreshed: Value = refreshed.json().await.expect("json");
    assert_eq!(refreshed["expires_in"], 14_400);
    let fresh = refreshed["access_token"].as_str().expect("token");
    assert_eq!(
        h.rpc("files/list_folder", fresh, None, json!({"path": ""}))
            .await
            .status(),
        200
    );

    let reused = h
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "used-or-unknown"),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(reused.status(), 400);
    assert_eq!(
        reused.json::<Value>().await.expect("json")["error"],
        "invalid_grant"
    );
    let stranger = h
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "x"),
            ("client_id", "nobody"),
        ])
        .await;
    assert_eq!(
        stranger.json::<Value>().await.expect("json")["error"],
        "invalid_client"
    );
}

#[tokio::test]
async fn team_tokens_list_members_and_select_one_for_files() {
    let h = Harness::start().await;
    let app = h.sim.create_app(AppKind::Team, None);
    let team = h.sim.create_team(3);
    let code = h
        .sim
        .authorization_code(&app.client_id, &team.team_id, None);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", &app.client_id),
        ("client_secret", &app.client_secret),
    ];
    let tokens: Value = h.token(&form).await.json().await.expect("json");
    assert_eq!(tokens["team_id"], team.team_id.as_str());
    let token = tokens["access_token"].as_str().expect("token");

    let first: Value = h
        .rpc("team/members/list", token, None, json!({"limit": 2}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first["has_more"], true);
    let rest: Value = h
        .rpc(
            "team/members/list/continue",
            token,
            None,
            json!({"cursor": first["cursor"]}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(rest["has_more"], false);
    let profile = &rest["members"][0]["profile"];
    assert_eq!(
        profile["team_member_id"],
        team.members[2].team_member_id.as_str()
    );
    assert_eq!(profile["status"][".tag"], "active");

    let member = &team.members[0].team_member_id;
    h.sim.upload(member, "/a.txt");
    let refused = h
        .rpc("files/list_folder", token, None, json!({"path": ""}))
        .await;
    assert_eq!(refused.status(), 400);
    assert!(
        refused
            .text()
            .await
            .expect("text")
            .contains("Dropbox-API-Select-User")
    );
    let page: Value = h
        .rpc(
            "files/list_folder",
            token,
            Some(member),
            json!({"path": ""}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(paths(&page), ["file /a.txt"]);

    let last = h.sim.calls().pop().expect("a call");
    assert_eq!(
        (last.select_user.as_deref(), last.status),
        (Some(member.as_str()), 200)
    );
}

#[tokio::test]
async fn injected_faults_answer_before_anything_else() {
    let h = Harness::start().await;
    let (_, _, _, tokens) = h.user_login().await;
    let token = tokens["access_token"].as_str().expect("token");
    h.sim.fail_next(1, 429, Some(7));
    let limited = h
        .rpc("files/list_folder", token, None, json!({"path": ""}))
        .await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "7");
    let body: Value = limited.json().await.expect("json");
    assert_eq!(body["error"]["reason"][".tag"], "too_many_requests");
    assert_eq!(body["error"]["retry_after"], 7);

    h.sim.fail_next(1, 503, None);
    assert_eq!(
        h.rpc("files/list_folder", token, None, json!({"path": ""}))
            .await
            .status(),
        503
    );
    assert_eq!(
        h.rpc("files/list_folder", token, None, json!({"path": ""}))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn router_answers_without_a_socket() {
    let router = DropboxSim::new().router();
    let request = Request::post("/2/files/list_folder")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"path": ""}"#));
    let response = router
        .clone()
        .oneshot(request.expect("request"))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let unknown = Request::post("/2/files/nope")
        .header("authorization", "Bearer x")
        .body(Body::empty());
    assert_eq!(
        router
            .oneshot(unknown.expect("request"))
            .await
            .expect("response")
            .status(),
        StatusCode::NOT_FOUND
    );
}
