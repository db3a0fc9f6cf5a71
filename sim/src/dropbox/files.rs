//! One account's file tree and its append-only change log, coalesced per path the way Dropbox reports changes.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::ids;
use crate::SimError;

/// A `list_folder` entry, serialized exactly as Dropbox does (`.tag` first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = ".tag", rename_all = "lowercase")]
pub(crate) enum Metadata {
    File(FileMetadata),
    Folder(FolderMetadata),
    Deleted(DeletedMetadata),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileMetadata {
    pub name: String,
    pub id: String,
    pub client_modified: String,
    pub server_modified: String,
    pub rev: String,
    pub size: u64,
    pub path_lower: String,
    pub path_display: String,
    pub content_hash: String,
    pub is_downloadable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FolderMetadata {
    pub name: String,
    pub id: String,
    pub path_lower: String,
    pub path_display: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeletedMetadata {
    pub name: String,
    pub path_lower: String,
    pub path_display: String,
}

impl Metadata {
    pub(crate) fn path_lower(&self) -> &str {
        match self {
            Self::File(f) => &f.path_lower,
            Self::Folder(f) => &f.path_lower,
            Self::Deleted(d) => &d.path_lower,
        }
    }

    pub(crate) fn is_deleted(&self) -> bool {
        matches!(self, Self::Deleted(_))
    }

    fn to_deleted(&self) -> Self {
        let (name, path_lower, path_display) = match self {
            Self::File(f) => (&f.name, &f.path_lower, &f.path_display),
            Self::Folder(f) => (&f.name, &f.path_lower, &f.path_display),
            Self::Deleted(d) => (&d.name, &d.path_lower, &d.path_display),
        };
        Self::Deleted(DeletedMetadata {
            name: name.clone(),
            path_lower: path_lower.clone(),
            path_display: path_display.clone(),
        })
    }
}

/// The part of a tree a listing covers: a folder (lowercased, `""` for the root), with or without its subfolders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct View {
    pub path: String,
    pub recursive: bool,
}

impl View {
    pub(crate) fn contains(&self, path_lower: &str) -> bool {
        if !self.recursive {
            return parent(path_lower) == self.path;
        }
        self.path.is_empty()
            || path_lower
                .strip_prefix(self.path.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// An account's files and folders plus every change ever made to them, in order.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Namespace {
    nodes: BTreeMap<String, Metadata>,
    log: Vec<Metadata>,
    /// Bumped by a reset: cursors minted under an older epoch answer `reset`.
    epoch: u64,
    rev_salt: u32,
    revisions: u64,
}

impl Namespace {
    pub(crate) fn new() -> Self {
        Self {
            nodes: BTreeMap::new(),
            log: Vec::new(),
            epoch: 0,
            rev_salt: ids::rev_salt(),
            revisions: 0,
        }
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn log_len(&self) -> usize {
        self.log.len()
    }

    pub(crate) fn get(&self, path_lower: &str) -> Option<&Metadata> {
        self.nodes.get(path_lower)
    }

    pub(crate) fn find_by_id(&self, id: &str) -> Option<&Metadata> {
        self.nodes.values().find(|node| match node {
            Metadata::File(f) => f.id == id,
            Metadata::Folder(f) => f.id == id,
            Metadata::Deleted(_) => false,
        })
    }

    pub(crate) fn reset_cursors(&mut self) {
        self.epoch += 1;
    }

    /// Creates or overwrites a file: an overwrite keeps the id and gets a new rev; missing parents are created.
    pub(crate) fn upload(&mut self, path: &str) -> Result<Metadata, SimError> {
        let (parents, name) = split_path(path)?;
        let (parent_lower, parent_display) = self.ensure_folders(path, &parents)?;
        let path_lower = format!("{parent_lower}/{}", name.to_lowercase());
        let (id, path_display) = match self.nodes.get(&path_lower) {
            Some(Metadata::File(existing)) => (existing.id.clone(), existing.path_display.clone()),
            Some(_) => return Err(SimError::Conflict(path.to_owned())),
            None => (ids::file_id(), format!("{parent_display}/{name}")),
        };
        self.revisions += 1;
        let rev = format!("{:08x}{:08x}", self.rev_salt, self.revisions);
        let now = timestamp();
        let entry = Metadata::File(FileMetadata {
            name: last_component(&path_display).to_owned(),
            id,
            client_modified: now.clone(),
            server_modified: now,
            content_hash: hex::encode(Sha256::digest(format!("{path_lower}@{rev}"))),
            rev,
            size: ids::number(1..1 << 20),
            path_lower,
            path_display,
            is_downloadable: true,
        });
        self.record(entry.clone());
        Ok(entry)
    }

    /// Creates a folder and any missing parents; an existing file or folder at the path is a conflict.
    pub(crate) fn create_folder(&mut self, path: &str) -> Result<Metadata, SimError> {
        let (parents, name) = split_path(path)?;
        let (parent_lower, parent_display) = self.ensure_folders(path, &parents)?;
        let path_lower = format!("{parent_lower}/{}", name.to_lowercase());
        if self.nodes.contains_key(&path_lower) {
            return Err(SimError::Conflict(path.to_owned()));
        }
        let entry = folder(&path_lower, &format!("{parent_display}/{name}"));
        self.record(entry.clone());
        Ok(entry)
    }

    /// Deletes a file or a folder with everything under it; returns what was deleted (as `delete_v2` does).
    ///
    /// The log gets a deleted entry for the target and one per descendant; coalescing hides the descendants'
    /// entries whenever the folder's own deletion is reported, so clients see just the folder, as from Dropbox.
    pub(crate) fn delete(&mut self, path: &str) -> Result<Metadata, SimError> {
        split_path(path)?;
        let path_lower = path.to_lowercase();
        let target = self
            .nodes
            .get(&path_lower)
            .cloned()
            .ok_or_else(|| SimError::NotFound(path.to_owned()))?;
        let prefix = format!("{path_lower}/");
        let descendants: Vec<Metadata> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(_, node)| node.to_deleted())
            .collect();
        self.record(target.to_deleted());
        descendants.into_iter().for_each(|entry| self.record(entry));
        Ok(target)
    }

    /// The changes in `log[from..to]` within `view`, one per path (its latest state), in the order of those
    /// latest changes, so a folder always precedes what is created in it. A deletion is left out when a
    /// deleted ancestor is reported too, since deleting a folder deletes everything under it.
    pub(crate) fn changes(
        &self,
        from: usize,
        to: usize,
        view: &View,
        include_deleted: bool,
    ) -> Vec<&Metadata> {
        let window = self.log.get(from..to).unwrap_or_default();
        let latest: HashMap<&str, usize> = window
            .iter()
            .enumerate()
            .map(|(i, entry)| (entry.path_lower(), i))
            .collect();
        let mut entries: Vec<&Metadata> = window
            .iter()
            .enumerate()
            .filter(|&(i, entry)| latest.get(entry.path_lower()) == Some(&i))
            .map(|(_, entry)| entry)
            .filter(|entry| view.contains(entry.path_lower()))
            .filter(|entry| include_deleted || !entry.is_deleted())
            .collect();
        let deleted: HashSet<&str> = entries
            .iter()
            .filter(|e| e.is_deleted())
            .map(|e| e.path_lower())
            .collect();
        entries
            .retain(|e| !e.is_deleted() || !ancestors(e.path_lower()).any(|a| deleted.contains(a)));
        entries
    }

    /// Makes sure every folder on the way exists; returns the parent's lowercased and display paths.
    fn ensure_folders(
        &mut self,
        path: &str,
        parents: &[&str],
    ) -> Result<(String, String), SimError> {
        let (mut lower, mut display) = (String::new(), String::new());
        for part in parents {
            lower = format!("{lower}/{}", part.to_lowercase());
            display = match self.nodes.get(&lower) {
                Some(Metadata::Folder(existing)) => existing.path_display.clone(),
                Some(_) => return Err(SimError::Conflict(path.to_owned())),
                None => {
                    let display = format!("{display}/{part}");
                    self.record(folder(&lower, &display));
                    display
                }
            };
        }
        Ok((lower, display))
    }

    fn record(&mut self, entry: Metadata) {
        if entry.is_deleted() {
            self.nodes.remove(entry.path_lower());
        } else {
            self.nodes
                .insert(entry.path_lower().to_owned(), entry.clone());
        }
        self.log.push(entry);
    }
}

fn folder(path_lower: &str, path_display: &str) -> Metadata {
    Metadata::Folder(FolderMetadata {
        name: last_component(path_display).to_owned(),
        id: ids::file_id(),
        path_lower: path_lower.to_owned(),
        path_display: path_display.to_owned(),
    })
}

/// Splits `/a/b/c` into (`[a, b]`, `c`), rejecting the root and empty, `.` or `..` components.
fn split_path(path: &str) -> Result<(Vec<&str>, &str), SimError> {
    let invalid = |reason| SimError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| invalid("must start with '/'"))?;
    let mut parts: Vec<&str> = rest.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(invalid(
            "empty, '.' or '..' component (the root is not a file)",
        ));
    }
    let name = parts.pop().unwrap_or_default();
    Ok((parts, name))
}

fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn parent(path_lower: &str) -> &str {
    path_lower.rfind('/').map_or("", |i| &path_lower[..i])
}

/// `/a/b/c` → `/a/b`, `/a`.
fn ancestors(path_lower: &str) -> impl Iterator<Item = &str> {
    path_lower
        .match_indices('/')
        .map(|(i, _)| &path_lower[..i])
        .filter(|a| !a.is_empty())
}

/// Dropbox's timestamp format: RFC 3339 in UTC without fractional seconds, e.g. `2026-12-04T15:04:03Z`.
fn timestamp() -> String {
    let t = OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
