//! The simulator's world: apps, accounts, teams and their files, grants, fault injection and the call log.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::api_error::ApiError;
use super::files::{Metadata, Namespace};
use super::model::{Account, ApiCall, App, AppKind, Member, Team};
use super::tokens::Tokens;
use super::{ids, webhook};
use crate::SimError;

mod auth;

pub(crate) use auth::{ClientCredentials, TokenResponse};

pub(crate) const DEFAULT_PAGE_SIZE: usize = 500;

#[derive(Debug, Serialize, Deserialize)]
struct AccountRecord {
    account: Account,
    team: Option<Membership>,
    files: Namespace,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Membership {
    pub team_id: String,
    pub team_member_id: String,
}

#[derive(Clone, Copy, Debug)]
struct Fault {
    remaining: usize,
    status: u16,
    retry_after: Option<u64>,
}

/// A webhook notification ready to send: where to, the exact body bytes and their signature.
#[derive(Clone, Debug)]
pub(crate) struct Webhook {
    pub url: Option<String>,
    pub body: String,
    pub signature: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    apps: HashMap<String, App>,
    /// By `dbid:`; team members are accounts too.
    accounts: HashMap<String, AccountRecord>,
    teams: HashMap<String, Team>,
    /// `dbmid:` → `dbid:`.
    members: HashMap<String, String>,
    tokens: Tokens,
    page_size: usize,
    next_uid: u64,
    #[serde(skip)]
    fault: Option<Fault>,
    #[serde(skip)]
    calls: Vec<ApiCall>,
}

impl State {
    pub(crate) fn new() -> Self {
        Self {
            apps: HashMap::new(),
            accounts: HashMap::new(),
            teams: HashMap::new(),
            members: HashMap::new(),
            tokens: Tokens::new(),
            page_size: DEFAULT_PAGE_SIZE,
            next_uid: ids::number(10_000_000..90_000_000),
            fault: None,
            calls: Vec::new(),
        }
    }

    pub(crate) fn create_app(&mut self, kind: AppKind, webhook_url: Option<String>) -> App {
        let app = App {
            client_id: ids::app_key(),
            client_secret: ids::app_key(),
            kind,
            webhook_url,
        };
        self.apps.insert(app.client_id.clone(), app.clone());
        app
    }

    pub(crate) fn app(&self, client_id: &str) -> Result<&App, SimError> {
        self.apps
            .get(client_id)
            .ok_or_else(|| SimError::UnknownApp(client_id.to_owned()))
    }

    pub(crate) fn set_webhook_url(&mut self, client_id: &str, url: &str) -> Result<(), SimError> {
        let app = self
            .apps
            .get_mut(client_id)
            .ok_or_else(|| SimError::UnknownApp(client_id.to_owned()))?;
        app.webhook_url = Some(url.to_owned());
        Ok(())
    }

    pub(crate) fn create_account(&mut self) -> Account {
        self.insert_account(None)
    }

    pub(crate) fn create_team(&mut self, members: usize) -> Team {
        let team_id = ids::team_id();
        let members = (0..members).map(|_| self.insert_member(&team_id)).collect();
        let team = Team {
            team_id: team_id.clone(),
            name: format!("Example Team {}", ids::number(1000..10_000)),
            members,
        };
        self.teams.insert(team_id, team.clone());
        team
    }

    pub(crate) fn add_team_member(&mut self, team_id: &str) -> Result<Member, SimError> {
        if !self.teams.contains_key(team_id) {
            return Err(SimError::UnknownTeam(team_id.to_owned()));
        }
        let member = self.insert_member(team_id);
        if let Some(team) = self.teams.get_mut(team_id) {
            team.members.push(member.clone());
        }
        Ok(member)
    }

    pub(crate) fn team(&self, team_id: &str) -> Option<&Team> {
        self.teams.get(team_id)
    }

    /// The account behind a `dbid:` or a team member's `dbmid:`.
    pub(crate) fn account(&self, id: &str) -> Result<&Account, SimError> {
        self.record(id).map(|record| &record.account)
    }

    /// The team an account (`dbid:` or `dbmid:`) belongs to, if any.
    pub(crate) fn membership(&self, id: &str) -> Option<&Membership> {
        self.record(id).ok()?.team.as_ref()
    }

    pub(crate) fn files(&self, account_id: &str) -> Option<&Namespace> {
        self.record(account_id).ok().map(|record| &record.files)
    }

    pub(crate) fn upload(&mut self, id: &str, path: &str) -> Result<Metadata, SimError> {
        self.record_mut(id)?.files.upload(path)
    }

    pub(crate) fn create_folder(&mut self, id: &str, path: &str) -> Result<Metadata, SimError> {
        self.record_mut(id)?.files.create_folder(path)
    }

    pub(crate) fn delete(&mut self, id: &str, path: &str) -> Result<Metadata, SimError> {
        self.record_mut(id)?.files.delete(path)
    }

    pub(crate) fn reset_cursors(&mut self, id: &str) -> Result<(), SimError> {
        self.record_mut(id)?.files.reset_cursors();
        Ok(())
    }

    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }

    pub(crate) fn set_page_size(&mut self, n: usize) {
        self.page_size = n.max(1);
    }

    pub(crate) fn fail_next(&mut self, n: usize, status: u16, retry_after: Option<u64>) {
        self.fault = (n > 0).then_some(Fault {
            remaining: n,
            status,
            retry_after,
        });
    }

    /// Consumes one injected failure, if any are pending.
    pub(crate) fn take_fault(&mut self) -> Option<ApiError> {
        let fault = self.fault.as_mut()?;
        fault.remaining -= 1;
        let error = ApiError::Injected {
            status: fault.status,
            retry_after: fault.retry_after,
        };
        if fault.remaining == 0 {
            self.fault = None;
        }
        Some(error)
    }

    pub(crate) fn record_call(&mut self, call: ApiCall) {
        self.calls.push(call);
    }

    pub(crate) fn calls(&self) -> &[ApiCall] {
        &self.calls
    }

    pub(crate) fn clear_calls(&mut self) {
        self.calls.clear();
    }

    /// The notification Dropbox would send `client_id` for changes in these accounts (`dbid:`s or `dbmid:`s).
    pub(crate) fn webhook(&self, client_id: &str, accounts: &[&str]) -> Result<Webhook, SimError> {
        let app = self.app(client_id)?;
        let body = match app.kind {
            AppKind::User => {
                let accounts = accounts
                    .iter()
                    .map(|id| self.account(id))
                    .collect::<Result<Vec<_>, _>>()?;
                webhook::user_body(&accounts)
            }
            AppKind::Team => {
                let mut teams: Vec<(&str, Vec<&str>)> = Vec::new();
                for id in accounts {
                    let Some(membership) = &self.record(id)?.team else {
                        return Err(SimError::NotTeamMember((*id).to_owned()));
                    };
                    let member = membership.team_member_id.as_str();
                    match teams
                        .iter_mut()
                        .find(|(team, _)| *team == membership.team_id)
                    {
                        Some((_, members)) => members.push(member),
                        None => teams.push((&membership.team_id, vec![member])),
                    }
                }
                webhook::team_body(&teams)
            }
        };
        let signature = webhook::dropbox_signature(app.client_secret.as_bytes(), body.as_bytes());
        Ok(Webhook {
            url: app.webhook_url.clone(),
            body,
            signature,
        })
    }

    fn insert_account(&mut self, team: Option<Membership>) -> Account {
        let uid = self.next_uid;
        self.next_uid += 1;
        let account = Account {
            account_id: ids::account_id(),
            email: format!("user{uid}@example.com"),
            uid,
        };
        let record = AccountRecord {
            account: account.clone(),
            team,
            files: Namespace::new(),
        };
        self.accounts.insert(account.account_id.clone(), record);
        account
    }

    /// A new account belonging to the team (the caller adds it to the team's member list).
    fn insert_member(&mut self, team_id: &str) -> Member {
        let team_member_id = ids::team_member_id();
        let membership = Membership {
            team_id: team_id.to_owned(),
            team_member_id: team_member_id.clone(),
        };
        let account = self.insert_account(Some(membership));
        self.members
            .insert(team_member_id.clone(), account.account_id.clone());
        Member {
            team_member_id,
            account_id: account.account_id,
        }
    }

    fn record(&self, id: &str) -> Result<&AccountRecord, SimError> {
        let account_id = self.members.get(id).map_or(id, String::as_str);
        self.accounts
            .get(account_id)
            .ok_or_else(|| SimError::UnknownAccount(id.to_owned()))
    }

    fn record_mut(&mut self, id: &str) -> Result<&mut AccountRecord, SimError> {
        let account_id = self.members.get(id).map_or(id, String::as_str);
        self.accounts
            .get_mut(account_id)
            .ok_or_else(|| SimError::UnknownAccount(id.to_owned()))
    }
}

#[cfg(test)]
mod tests;
