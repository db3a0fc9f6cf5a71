//! Codes and tokens, team Select-User rules, injected faults and webhook bodies.

use super::*;

fn user_token(state: &mut State) -> (App, String, String) {
    let app = state.create_app(AppKind::User, None);
    let account = state.create_account().account_id;
    let code = state
        .authorization_code(&app.client_id, &account, Some("https://x/cb"))
        .expect("code");
    let creds = ClientCredentials {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
    };
    let tokens = state
        .exchange_code(&creds, &code, Some("https://x/cb"), NOW)
        .expect("exchange");
    let tokens = serde_json::to_value(tokens).expect("json");
    (
        app,
        account,
        tokens["access_token"].as_str().expect("token").to_owned(),
    )
}

#[test]
fn codes_work_once_for_their_client_and_redirect_uri() {
    let mut state = State::new();
    let app = state.create_app(AppKind::User, None);
    let account = state.create_account();
    let creds = ClientCredentials {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
    };
    let code = state
        .authorization_code(&app.client_id, &account.account_id, Some("https://x/cb"))
        .expect("code");

    let wrong_uri = state
        .exchange_code(&creds, &code, Some("https://evil/cb"), NOW)
        .expect_err("mismatch");
    assert_eq!(wrong_uri.error, "invalid_grant");
    let bad_secret = ClientCredentials {
        client_secret: "nope".into(),
        ..creds.clone()
    };
    assert_eq!(
        state
            .exchange_code(&bad_secret, &code, Some("https://x/cb"), NOW)
            .expect_err("secret")
            .error,
        "invalid_client"
    );
    let other = state.create_app(AppKind::User, None);
    let other = ClientCredentials {
        client_id: other.client_id,
        client_secret: other.client_secret,
    };
    assert_eq!(
        state
            .exchange_code(&other, &code, Some("https://x/cb"), NOW)
            .expect_err("client")
            .error,
        "invalid_grant"
    );

    let tokens = serde_json::to_value(
        state
            .exchange_code(&creds, &code, Some("https://x/cb"), NOW)
            .expect("ok"),
    )
    .expect("json");
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 14_400);
    assert_eq!(tokens["account_id"], account.account_id.as_str());
    assert_eq!(tokens["uid"], account.uid.to_string());
    assert!(tokens["refresh_token"].is_string() && tokens.get("team_id").is_none());
    assert_eq!(
        state
            .exchange_code(&creds, &code, Some("https://x/cb"), NOW)
            .expect_err("reuse")
            .error,
        "invalid_grant"
    );

    let refreshed = state
        .refresh(
            &creds,
            tokens["refresh_token"].as_str().expect("refresh"),
            NOW,
        )
        .expect("refresh");
    let refreshed: Value = serde_json::to_value(refreshed).expect("json");
    let keys: Vec<&String> = refreshed.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["access_token", "expires_in", "token_type"]);
}

#[test]
fn access_tokens_expire_and_refresh_tokens_survive() {
    let mut state = State::new();
    let (app, account, token) = user_token(&mut state);
    assert_eq!(state.user_account(&token, None, NOW), Ok(account.clone()));
    assert_eq!(
        state.user_account(&token, None, NOW + 14_400_000),
        Err(ApiError::ExpiredAccessToken)
    );
    assert_eq!(
        state.user_account("sl.unknown", None, NOW),
        Err(ApiError::InvalidAccessToken)
    );

    state.set_token_lifetime(60);
    let code = state
        .authorization_code(&app.client_id, &account, None)
        .expect("code");
    let creds = ClientCredentials {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
    };
    let tokens = serde_json::to_value(
        state
            .exchange_code(&creds, &code, None, NOW)
            .expect("exchange"),
    )
    .expect("json");
    assert_eq!(tokens["expires_in"], 60);
    let short = tokens["access_token"].as_str().expect("token");
    assert!(state.user_account(short, None, NOW + 59_000).is_ok());
    assert_eq!(
        state.user_account(short, None, NOW + 60_000),
        Err(ApiError::ExpiredAccessToken)
    );

    state.expire_tokens();
    assert_eq!(
        state.user_account(&token, None, NOW),
        Err(ApiError::ExpiredAccessToken)
    );
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let renewed =
        serde_json::to_value(state.refresh(&creds, refresh, NOW).expect("refresh")).expect("json");
    assert!(
        state
            .user_account(renewed["access_token"].as_str().expect("token"), None, NOW)
            .is_ok()
    );
}

#[test]
fn team_tokens_must_select_one_of_their_members() {
    let mut state = State::new();
    let app = state.create_app(AppKind::Team, None);
    let team = state.create_team(2);
    let stranger = state.create_team(1).members[0].team_member_id.clone();
    assert!(
        state
            .authorization_code(&app.client_id, &team.members[0].account_id, None)
            .is_err()
    );
    let code = state
        .authorization_code(&app.client_id, &team.team_id, None)
        .expect("code");
    let creds = ClientCredentials {
        client_id: app.client_id,
        client_secret: app.client_secret,
    };
    let tokens = serde_json::to_value(
        state
            .exchange_code(&creds, &code, None, NOW)
            .expect("exchange"),
    )
    .expect("json");
    assert_eq!(tokens["team_id"], team.team_id.as_str());
    assert!(tokens.get("account_id").is_none());
    let token = tokens["access_token"].as_str().expect("token");

    let member = &team.members[1];
    assert_eq!(
        state.user_account(token, Some(&member.team_member_id), NOW),
        Ok(member.account_id.clone())
    );
    let without = state.user_account(token, None, NOW);
    assert!(
        matches!(without, Err(ApiError::BadRequest(m)) if m.contains("Dropbox-API-Select-User"))
    );
    assert!(matches!(
        state.user_account(token, Some(&stranger), NOW),
        Err(ApiError::BadRequest(_))
    ));
    assert!(matches!(
        state.user_account(token, Some("garbage"), NOW),
        Err(ApiError::BadRequest(_))
    ));
    assert_eq!(state.team_of(token, NOW), Ok(team.team_id.clone()));

    let (_, _, user_token) = user_token(&mut state);
    assert!(matches!(
        state.user_account(&user_token, Some(&member.team_member_id), NOW),
        Err(ApiError::BadRequest(_))
    ));
    assert!(matches!(
        state.team_of(&user_token, NOW),
        Err(ApiError::BadRequest(_))
    ));
}

#[test]
fn team_members_have_their_own_files() {
    let mut state = State::new();
    let team = state.create_team(2);
    let (first, second) = (&team.members[0], &team.members[1]);
    state
        .upload(&first.team_member_id, "/mine.txt")
        .expect("upload by dbmid");
    state
        .upload(&second.account_id, "/theirs.txt")
        .expect("upload by dbid");
    assert_eq!(
        described(&list(&state, &first.account_id, &root()).expect("list")),
        ["file /mine.txt"]
    );
    let added = state.add_team_member(&team.team_id).expect("add");
    assert_eq!(state.team(&team.team_id).expect("team").members.len(), 3);
    assert!(state.files(&added.account_id).is_some());
}

#[test]
fn injected_faults_run_out() {
    let mut state = State::new();
    state.fail_next(2, 429, Some(3));
    let fault = ApiError::Injected {
        status: 429,
        retry_after: Some(3),
    };
    assert_eq!(state.take_fault(), Some(fault.clone()));
    assert_eq!(state.take_fault(), Some(fault));
    assert_eq!(state.take_fault(), None);
}

#[test]
fn webhooks_name_accounts_or_team_members_and_are_signed() {
    let mut state = State::new();
    let user_app = state.create_app(AppKind::User, Some("http://127.0.0.1:9/hook".into()));
    let account = state.create_account();
    let hook = state
        .webhook(&user_app.client_id, &[&account.account_id])
        .expect("webhook");
    let expected = format!(
        r#"{{"list_folder": {{"accounts": ["{}"]}}, "delta": {{"users": [{}]}}}}"#,
        account.account_id, account.uid
    );
    assert_eq!(hook.body, expected);
    assert_eq!(
        hook.signature,
        webhook::dropbox_signature(user_app.client_secret.as_bytes(), expected.as_bytes())
    );
    assert_eq!(hook.url.as_deref(), Some("http://127.0.0.1:9/hook"));

    let team_app = state.create_app(AppKind::Team, None);
    let (one, two) = (state.create_team(2), state.create_team(1));
    let ids = [
        &one.members[0].team_member_id,
        &two.members[0].account_id,
        &one.members[1].team_member_id,
    ];
    let ids: Vec<&str> = ids.iter().map(|id| id.as_str()).collect();
    let body: Value = serde_json::from_str(
        &state
            .webhook(&team_app.client_id, &ids)
            .expect("webhook")
            .body,
    )
    .expect("json");
    let teams = &body["list_folder"]["teams"];
    assert_eq!(
        teams[&one.team_id],
        serde_json::json!([one.members[0].team_member_id, one.members[1].team_member_id])
    );
    assert_eq!(
        teams[&two.team_id],
        serde_json::json!([two.members[0].team_member_id])
    );
    assert_eq!(body["delta"]["teams"], *teams);

    assert!(matches!(
        state.webhook(&team_app.client_id, &[&account.account_id]),
        Err(SimError::NotTeamMember(_))
    ));
    assert!(matches!(
        state.webhook("nope", &[]),
        Err(SimError::UnknownApp(_))
    ));
}
