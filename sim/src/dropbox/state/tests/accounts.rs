//! Account and team profiles, App Console tokens and the list of issued tokens.

use super::*;
use crate::dropbox::{team_info, users};

fn json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).expect("json")
}

#[test]
fn a_personal_account_has_a_basic_profile_without_team() {
    let (state, account) = setup();
    let full = json(users::current_account(&state, &account).expect("account"));
    let uid = state.account(&account).expect("account").uid;
    assert_eq!(full["account_id"], account.as_str());
    assert_eq!(full["email"], format!("user{uid}@example.com"));
    assert_eq!(full["name"]["display_name"], format!("User {uid}"));
    assert_eq!(full["account_type"][".tag"], "basic");
    assert_eq!(full["root_info"][".tag"], "user");
    assert_eq!(
        full["root_info"]["root_namespace_id"],
        full["root_info"]["home_namespace_id"]
    );
    assert!(
        full["referral_link"]
            .as_str()
            .is_some_and(|link| link.starts_with("https://db.tt/"))
    );
    assert!(full.get("team").is_none() && full.get("team_member_id").is_none());
    assert_eq!(
        full,
        json(users::current_account(&state, &account).expect("again"))
    );
    assert!(users::current_account(&state, "dbid:nobody").is_none());
}

#[test]
fn a_member_profile_names_the_team_and_the_member() {
    let mut state = State::new();
    let team = state.create_team(2);
    let member = &team.members[1];
    for id in [&member.account_id, &member.team_member_id] {
        let full = json(users::current_account(&state, id).expect("member"));
        assert_eq!(full["account_id"], member.account_id.as_str());
        assert_eq!(full["team_member_id"], member.team_member_id.as_str());
        assert_eq!(full["account_type"][".tag"], "business");
        assert_eq!(full["team"]["id"], team.team_id.as_str());
        assert_eq!(full["team"]["name"], team.name.as_str());
        assert!(full["team"]["sharing_policies"].is_object());
    }
}

#[test]
fn team_info_counts_members_and_licenses() {
    let mut state = State::new();
    let team = state.create_team(2);
    let info = json(team_info::get_info(&state, &team.team_id).expect("team"));
    assert_eq!(info["team_id"], team.team_id.as_str());
    assert!(info["name"].as_str().is_some_and(|name| !name.is_empty()));
    assert_eq!(info["num_provisioned_users"], 2);
    assert_eq!(info["num_used_licenses"], 2);
    assert_eq!(info["num_licensed_users"], 5);
    assert_eq!(info["policies"]["emm_state"][".tag"], "disabled");

    for _ in 0..4 {
        state.add_team_member(&team.team_id).expect("add");
    }
    let info = json(team_info::get_info(&state, &team.team_id).expect("team"));
    assert_eq!(info["num_provisioned_users"], 6);
    assert_eq!(info["num_licensed_users"], 6);
    assert!(team_info::get_info(&state, "dbtid:nobody").is_none());
}

#[test]
fn generated_tokens_never_expire_until_expire_tokens() {
    let (mut state, account) = setup();
    let user_app = state.create_app(AppKind::User, None);
    let token = state
        .generate_access_token(&user_app.client_id, &account)
        .expect("token");
    assert!(!token.starts_with("sl.") && token.len() == 64);
    assert_eq!(
        state.user_account(&token, None, u64::MAX - 1),
        Ok(account.clone())
    );

    let team_app = state.create_app(AppKind::Team, None);
    let team = state.create_team(1);
    let team_token = state
        .generate_access_token(&team_app.client_id, &team.team_id)
        .expect("team token");
    assert_eq!(state.team_of(&team_token, NOW), Ok(team.team_id.clone()));

    assert!(matches!(
        state.generate_access_token(&team_app.client_id, &account),
        Err(SimError::SubjectMismatch { .. })
    ));
    assert!(matches!(
        state.generate_access_token(&user_app.client_id, &team.team_id),
        Err(SimError::SubjectMismatch { .. })
    ));
    assert!(matches!(
        state.generate_access_token("nope", &account),
        Err(SimError::UnknownApp(_))
    ));

    state.expire_tokens();
    assert_eq!(
        state.user_account(&token, None, NOW),
        Err(ApiError::ExpiredAccessToken)
    );
    assert_eq!(
        state.team_of(&team_token, NOW),
        Err(ApiError::ExpiredAccessToken)
    );
}

#[test]
fn issued_tokens_lists_access_and_refresh_tokens_but_not_codes() {
    let (mut state, account) = setup();
    assert!(state.issued_tokens().is_empty());
    let app = state.create_app(AppKind::User, None);
    let creds = ClientCredentials {
        client_id: app.client_id.clone(),
        client_secret: app.client_secret.clone(),
    };
    let code = state
        .authorization_code(&app.client_id, &account, None)
        .expect("code");
    let tokens = json(
        state
            .exchange_code(&creds, &code, None, NOW)
            .expect("exchange"),
    );
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let renewed = json(state.refresh(&creds, refresh, NOW).expect("refresh"));
    let generated = state
        .generate_access_token(&app.client_id, &account)
        .expect("generated");
    state.expire_tokens();

    let mut expected = vec![
        tokens["access_token"].as_str().expect("access").to_owned(),
        refresh.to_owned(),
        renewed["access_token"]
            .as_str()
            .expect("renewed")
            .to_owned(),
        generated,
    ];
    expected.sort();
    assert_eq!(state.issued_tokens(), expected);
    assert!(!state.issued_tokens().contains(&code));
}
