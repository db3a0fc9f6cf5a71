//! Unit tests of the simulator state: files and coalescing, cursors and paging, tokens, team rules, webhooks,
//! account and team profiles.

mod accounts;
mod auth;
mod files;
mod paging;

use serde_json::Value;

use super::*;
use crate::dropbox::files::View;
use crate::dropbox::listing::{self, Cursor, ListFolderArg, ListFolderResult, Window};

const NOW: u64 = 1_800_000_000_000;

fn root() -> ListFolderArg {
    ListFolderArg {
        path: String::new(),
        recursive: true,
        include_deleted: false,
        limit: None,
    }
}

fn list(state: &State, account: &str, arg: &ListFolderArg) -> Result<ListFolderResult, ApiError> {
    let files = state.files(account).expect("account exists");
    listing::list_folder(files, account, arg, state.page_size())
}

fn next(state: &State, account: &str, cursor: &str) -> Result<ListFolderResult, ApiError> {
    let files = state.files(account).expect("account exists");
    listing::list_folder_continue(files, account, cursor, state.page_size())
}

fn latest(state: &State, account: &str) -> String {
    let files = state.files(account).expect("account exists");
    listing::latest_cursor(files, account, &root())
        .expect("latest cursor")
        .cursor
}

/// `file /a/b.txt`, `folder /a`, `deleted /a` for each entry.
fn described(page: &ListFolderResult) -> Vec<String> {
    page.entries
        .iter()
        .map(|entry| {
            let tag = match entry {
                Metadata::File(_) => "file",
                Metadata::Folder(_) => "folder",
                Metadata::Deleted(_) => "deleted",
            };
            format!("{tag} {}", entry.path_lower())
        })
        .collect()
}

fn file(metadata: &Metadata) -> &crate::dropbox::files::FileMetadata {
    match metadata {
        Metadata::File(file) => file,
        other => panic!("expected a file, got {other:?}"),
    }
}

fn setup() -> (State, String) {
    let mut state = State::new();
    let account = state.create_account().account_id;
    (state, account)
}
