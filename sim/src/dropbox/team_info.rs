//! `team/get_info`, and the team summary members' `users/get_current_account` repeats; policies are fixed.

use serde::Serialize;
use serde_json::{Value, json};

use super::model::Team;
use super::state::State;

/// Dropbox sells Business seats in packs; a small team still has this many licenses.
const MIN_LICENSES: u32 = 5;
const OFFICE_ADDIN: &str = "disabled";
const TOP_LEVEL_CONTENT: &str = "admin_only";

/// Dropbox's `TeamGetInfoResult`.
#[derive(Debug, Serialize)]
pub(crate) struct TeamInfo {
    name: String,
    team_id: String,
    num_licensed_users: u32,
    num_provisioned_users: u32,
    num_used_licenses: u32,
    policies: Value,
}

/// The team's summary, or `None` if there is no such team.
pub(crate) fn get_info(state: &State, team_id: &str) -> Option<TeamInfo> {
    let team = state.team(team_id)?;
    let members = u32::try_from(team.members.len()).unwrap_or(u32::MAX);
    Some(TeamInfo {
        name: team.name.clone(),
        team_id: team.team_id.clone(),
        num_licensed_users: members.max(MIN_LICENSES),
        num_provisioned_users: members,
        num_used_licenses: members,
        policies: json!({
            "sharing": sharing_policies(),
            "emm_state": {".tag": "disabled"},
            "office_addin": {".tag": OFFICE_ADDIN},
            "suggest_members_policy": {".tag": "enabled"},
            "top_level_content_policy": {".tag": TOP_LEVEL_CONTENT},
        }),
    })
}

/// Dropbox's `FullTeam`, the `team` of a member's `FullAccount`.
pub(crate) fn full_team(team: &Team) -> Value {
    json!({
        "id": team.team_id,
        "name": team.name,
        "sharing_policies": sharing_policies(),
        "office_addin_policy": {".tag": OFFICE_ADDIN},
        "top_level_content_policy": {".tag": TOP_LEVEL_CONTENT},
    })
}

/// Every field of Dropbox's `TeamSharingPolicies` (SDKs decode them as required), with fixed values.
fn sharing_policies() -> Value {
    json!({
        "shared_folder_member_policy": {".tag": "anyone"},
        "shared_folder_join_policy": {".tag": "from_anyone"},
        "shared_link_create_policy": {".tag": "default_public"},
        "group_creation_policy": {".tag": "admins_only"},
        "shared_folder_link_restriction_policy": {".tag": "anyone"},
        "enforce_link_password_policy": {".tag": "optional"},
        "default_link_expiration_days_policy": {".tag": "none"},
        "shared_link_default_permissions_policy": {".tag": "default"},
    })
}
