//! `users/get_current_account`, `team/get_info` and App Console tokens over real HTTP.

mod common;

use common::{Harness, paths};
use serde_json::{Value, json};
use sim::AppKind;

const JSON: Option<&str> = Some("application/json");

async fn text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.expect("text"))
}

#[tokio::test]
async fn a_user_token_reads_its_own_account() {
    let h = Harness::start().await;
    let (_, _, account_id, tokens) = h.user_login().await;
    let token = tokens["access_token"].as_str().expect("token");
    let uid = tokens["uid"].as_str().expect("uid");

    let response = h
        .rpc("users/get_current_account", token, None, Value::Null)
        .await;
    assert_eq!(response.status(), 200);
    let account: Value = response.json().await.expect("json");
    assert_eq!(account["account_id"], account_id.as_str());
    assert_eq!(account["email"], format!("user{uid}@example.com"));
    assert_eq!(account["name"]["given_name"], "User");
    assert_eq!(account["name"]["display_name"], format!("User {uid}"));
    assert_eq!(
        (&account["email_verified"], &account["disabled"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(
        (&account["country"], &account["locale"]),
        (&json!("US"), &json!("en"))
    );
    assert_eq!(account["is_paired"], false);
    assert_eq!(account["account_type"], json!({".tag": "basic"}));
    assert_eq!(account["root_info"][".tag"], "user");
    assert!(account["root_info"]["home_namespace_id"].is_string());
    assert!(account.get("team").is_none());

    // No body at all (curl's way) is fine too.
    let bare = h
        .raw_rpc("users/get_current_account", token, None, "")
        .await;
    assert_eq!(bare.json::<Value>().await.expect("json"), account);

    let select = h
        .rpc(
            "users/get_current_account",
            token,
            Some("dbmid:AAx"),
            Value::Null,
        )
        .await;
    assert_eq!(select.status(), 400);
}

#[tokio::test]
async fn no_argument_routes_take_null_or_nothing() {
    let h = Harness::start().await;
    let (_, _, _, tokens) = h.user_login().await;
    let token = tokens["access_token"].as_str().expect("token");
    let route = "users/get_current_account";

    let (status, body) = text(h.raw_rpc(route, token, JSON, "{}").await).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        format!(
            "Error in call to API function \"{route}\": request body: expected null, got value"
        )
    );
    let (status, body) = text(h.raw_rpc(route, token, JSON, "").await).await;
    assert_eq!(status, 400);
    assert!(body.contains("could not decode input as JSON"), "{body}");
    let form = Some("application/x-www-form-urlencoded");
    let (status, body) = text(h.raw_rpc(route, token, form, "null").await).await;
    assert_eq!(status, 400);
    assert!(body.contains("Bad HTTP \"Content-Type\" header"), "{body}");
    let cors = Some("text/plain; charset=dropbox-cors-hack");
    assert_eq!(h.raw_rpc(route, token, cors, "null").await.status(), 200);
    assert_eq!(h.raw_rpc(route, token, JSON, " null\n").await.status(), 200);
}

#[tokio::test]
async fn a_team_token_reads_a_selected_members_account_and_its_team() {
    let h = Harness::start().await;
    let (team, token) = h.team_login(3).await;
    let member = &team.members[1];

    let (status, body) = text(
        h.rpc("users/get_current_account", &token, None, Value::Null)
            .await,
    )
    .await;
    assert_eq!(status, 400);
    let (_, files_body) = text(
        h.rpc("files/list_folder", &token, None, json!({"path": ""}))
            .await,
    )
    .await;
    assert_eq!(
        body,
        files_body.replace("files/list_folder", "users/get_current_account")
    );

    let account: Value = h
        .rpc(
            "users/get_current_account",
            &token,
            Some(&member.team_member_id),
            Value::Null,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(account["account_id"], member.account_id.as_str());
    assert_eq!(account["team_member_id"], member.team_member_id.as_str());
    assert_eq!(account["account_type"][".tag"], "business");
    assert_eq!(account["team"]["id"], team.team_id.as_str());
    assert_eq!(account["team"]["name"], team.name.as_str());

    let stranger = h.sim.create_team(1).members[0].team_member_id.clone();
    assert_eq!(
        h.rpc(
            "users/get_current_account",
            &token,
            Some(&stranger),
            Value::Null
        )
        .await
        .status(),
        400
    );
}

#[tokio::test]
async fn team_get_info_takes_a_team_token_only() {
    let h = Harness::start().await;
    let (team, token) = h.team_login(2).await;
    let info: Value = h
        .rpc("team/get_info", &token, None, Value::Null)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(info["team_id"], team.team_id.as_str());
    assert_eq!(info["name"], team.name.as_str());
    assert_eq!(info["num_provisioned_users"], 2);
    assert_eq!(info["num_used_licenses"], 2);
    assert!(info["num_licensed_users"].as_u64() >= Some(2));
    assert_eq!(info["policies"]["office_addin"][".tag"], "disabled");
    assert!(info["policies"]["sharing"].is_object());
    let bare = h.raw_rpc("team/get_info", &token, None, "").await;
    assert_eq!(bare.json::<Value>().await.expect("json"), info);

    let (_, _, _, tokens) = h.user_login().await;
    let user_token = tokens["access_token"].as_str().expect("token");
    let (status, body) = text(h.rpc("team/get_info", user_token, None, Value::Null).await).await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("Error in call to API function \"team/get_info\": ")
            && body.contains("access token you provided is for a specific Dropbox user account"),
        "{body}"
    );

    let logged: Vec<(String, Option<String>, u16)> = h
        .sim
        .calls()
        .into_iter()
        .filter(|call| call.route != "oauth2/token")
        .map(|call| (call.route, call.select_user, call.status))
        .collect();
    let get_info = ("team/get_info".to_owned(), None, 200);
    assert_eq!(
        logged,
        [
            get_info.clone(),
            get_info,
            ("team/get_info".to_owned(), None, 400)
        ]
    );
}

#[tokio::test]
async fn generated_tokens_work_without_refresh_until_expired() {
    let h = Harness::start().await;
    let app = h.sim.create_app(AppKind::User, None);
    let account = h.sim.create_account().account_id;
    h.sim.upload(&account, "/kept.txt");
    let token = h.sim.generate_access_token(&app.client_id, &account);
    assert!(!token.starts_with("sl."));

    let page: Value = h
        .rpc("files/list_folder", &token, None, json!({"path": ""}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(paths(&page), ["file /kept.txt"]);
    let me: Value = h
        .rpc("users/get_current_account", &token, None, Value::Null)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["account_id"], account.as_str());

    let team_app = h.sim.create_app(AppKind::Team, None);
    let team = h.sim.create_team(1);
    let team_token = h
        .sim
        .generate_access_token(&team_app.client_id, &team.team_id);
    let info = h.rpc("team/get_info", &team_token, None, Value::Null).await;
    assert_eq!(info.status(), 200);
    let issued = h.sim.issued_tokens();
    assert!(issued.contains(&token) && issued.contains(&team_token));
    assert_eq!(issued.len(), 2);

    h.sim.expire_tokens();
    let expired = h
        .rpc("users/get_current_account", &token, None, Value::Null)
        .await;
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired.json::<Value>().await.expect("json")["error"][".tag"],
        "expired_access_token"
    );
    assert_eq!(
        h.rpc("team/get_info", &team_token, None, Value::Null)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_control_api_generates_tokens() {
    let h = Harness::start().await;
    let app = h.sim.create_app(AppKind::User, None);
    let account = h.sim.create_account().account_id;
    let post = |body: Value| {
        h.http
            .post(format!("{}/sim/tokens", h.base))
            .json(&body)
            .send()
    };

    let generated: Value = post(json!({"client_id": app.client_id, "subject": account}))
        .await
        .expect("tokens")
        .json()
        .await
        .expect("json");
    let token = generated["access_token"].as_str().expect("token");
    assert_eq!(h.sim.issued_tokens(), [token]);
    let me = h
        .rpc("users/get_current_account", token, None, Value::Null)
        .await;
    assert_eq!(me.status(), 200);

    let unknown = post(json!({"client_id": "nope", "subject": account}))
        .await
        .expect("tokens");
    assert_eq!(unknown.status(), 404);
    let team = h.sim.create_team(1);
    let mismatch = post(json!({"client_id": app.client_id, "subject": team.team_id}))
        .await
        .expect("tokens");
    assert_eq!(mismatch.status(), 400);
    assert!(
        mismatch.json::<Value>().await.expect("json")["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot authorize"))
    );
}

#[test]
#[should_panic(expected = "DropboxSim: unknown app")]
fn generating_a_token_for_an_unknown_app_panics() {
    sim::DropboxSim::new().generate_access_token("nope", "dbid:AAx");
}
