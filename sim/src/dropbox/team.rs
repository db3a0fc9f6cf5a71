//! `team/members/list` and its continuation: a team's member profiles, paged behind a cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::api_error::ApiError;
use super::model::Member;
use super::state::State;
use super::users::{Name, Tag};

#[derive(Debug, Deserialize)]
pub(crate) struct MembersListArg {
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    1000
}

#[derive(Debug, Deserialize)]
pub(crate) struct MembersContinueArg {
    pub cursor: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct MembersListResult {
    members: Vec<MemberInfo>,
    cursor: String,
    has_more: bool,
}

#[derive(Debug, Serialize)]
struct MemberInfo {
    profile: Profile,
    role: Tag,
}

#[derive(Debug, Serialize)]
struct Profile {
    team_member_id: String,
    account_id: String,
    email: String,
    email_verified: bool,
    status: Tag,
    name: Name,
    membership_type: Tag,
}

pub(crate) fn list(
    state: &State,
    team_id: &str,
    arg: &MembersListArg,
) -> Result<MembersListResult, ApiError> {
    if !(1..=1000).contains(&arg.limit) {
        return Err(ApiError::bad_request(format!(
            "limit: {} is not within range [1, 1000]",
            arg.limit
        )));
    }
    let limit = usize::try_from(arg.limit).unwrap_or(1000);
    Ok(page(state, team_id, 0, limit))
}

pub(crate) fn list_continue(
    state: &State,
    team_id: &str,
    cursor: &str,
) -> Result<MembersListResult, ApiError> {
    let (offset, limit) = decode(cursor)
        .filter(|(team, _, _)| team == team_id)
        .map(|(_, offset, limit)| (offset, limit))
        .ok_or(ApiError::Conflict("invalid_cursor"))?;
    Ok(page(state, team_id, offset, limit))
}

fn page(state: &State, team_id: &str, offset: usize, limit: usize) -> MembersListResult {
    let all = state
        .team(team_id)
        .map_or(&[][..], |team| &team.members[..]);
    let members: Vec<MemberInfo> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|m| info(state, m))
        .collect();
    let next = offset + members.len();
    MembersListResult {
        members,
        cursor: encode(team_id, next, limit),
        has_more: next < all.len(),
    }
}

fn info(state: &State, member: &Member) -> MemberInfo {
    let account = state.account(&member.account_id).ok();
    MemberInfo {
        profile: Profile {
            team_member_id: member.team_member_id.clone(),
            account_id: member.account_id.clone(),
            email: account.map(|a| a.email.clone()).unwrap_or_default(),
            email_verified: true,
            status: Tag { tag: "active" },
            name: account.map(Name::of).unwrap_or_default(),
            membership_type: Tag { tag: "full" },
        },
        role: Tag { tag: "member_only" },
    }
}

fn encode(team_id: &str, offset: usize, limit: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("m1\n{team_id}\n{offset}\n{limit}"))
}

fn decode(cursor: &str) -> Option<(String, usize, usize)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let mut fields = raw.split('\n');
    if fields.next()? != "m1" {
        return None;
    }
    let team = fields.next()?.to_owned();
    Some((
        team,
        fields.next()?.parse().ok()?,
        fields.next()?.parse().ok()?,
    ))
}
