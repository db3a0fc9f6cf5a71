//! `files/list_folder` and its continuations: pages over an account's change log behind opaque cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::api_error::ApiError;
use super::files::{Metadata, Namespace, View};

/// Arguments of `files/list_folder` and `files/list_folder/get_latest_cursor`.
#[derive(Debug, Deserialize)]
pub(crate) struct ListFolderArg {
    pub path: String,
    #[serde(default)]
    pub recursive: bool,
    #[serde(default)]
    pub include_deleted: bool,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContinueArg {
    pub cursor: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ListFolderResult {
    pub entries: Vec<Metadata>,
    pub cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct LatestCursorResult {
    pub cursor: String,
}

/// What a cursor encodes. Its holder has seen every change before `position`; with a `window` it is partway
/// through the coalesced changes of `log[position..window.end]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub account: String,
    pub view: View,
    pub limit: Option<usize>,
    pub epoch: u64,
    pub position: usize,
    pub window: Option<Window>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub end: usize,
    pub offset: usize,
    pub include_deleted: bool,
}

const CURSOR_VERSION: &str = "c1";

impl Cursor {
    /// Newline-separated fields, path last (it may contain anything), in URL-safe base64.
    pub(crate) fn encode(&self) -> String {
        let window = self.window.map_or_else(
            || "-".to_owned(),
            |w| format!("{}.{}.{}", w.end, w.offset, u8::from(w.include_deleted)),
        );
        let limit = self.limit.map_or_else(|| "-".to_owned(), |l| l.to_string());
        let raw = format!(
            "{CURSOR_VERSION}\n{}\n{}\n{}\n{window}\n{limit}\n{}\n{}",
            self.account,
            self.epoch,
            self.position,
            u8::from(self.view.recursive),
            self.view.path
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub(crate) fn decode(cursor: &str) -> Option<Self> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let mut fields = raw.splitn(8, '\n');
        if fields.next()? != CURSOR_VERSION {
            return None;
        }
        let account = fields.next()?.to_owned();
        let epoch = fields.next()?.parse().ok()?;
        let position = fields.next()?.parse().ok()?;
        let window = match fields.next()? {
            "-" => None,
            window => {
                let mut parts = window.split('.');
                Some(Window {
                    end: parts.next()?.parse().ok()?,
                    offset: parts.next()?.parse().ok()?,
                    include_deleted: parts.next()? == "1",
                })
            }
        };
        let limit = match fields.next()? {
            "-" => None,
            limit => Some(limit.parse().ok()?),
        };
        let recursive = match fields.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let path = fields.next()?.to_owned();
        let view = View { path, recursive };
        Some(Self {
            account,
            view,
            limit,
            epoch,
            position,
            window,
        })
    }
}

/// The first page: everything currently present under the path (plus deletions if asked).
pub(crate) fn list_folder(
    files: &Namespace,
    account: &str,
    arg: &ListFolderArg,
    page_size: usize,
) -> Result<ListFolderResult, ApiError> {
    let window = Window {
        end: files.log_len(),
        offset: 0,
        include_deleted: arg.include_deleted,
    };
    let cursor = Cursor {
        account: account.to_owned(),
        view: view(files, &arg.path, arg.recursive)?,
        limit: limit(arg.limit)?,
        epoch: files.epoch(),
        position: 0,
        window: Some(window),
    };
    Ok(next_page(files, cursor, page_size))
}

/// The next page: the rest of a listing in progress, or the changes since the cursor, coalesced per path.
pub(crate) fn list_folder_continue(
    files: &Namespace,
    account: &str,
    cursor: &str,
    page_size: usize,
) -> Result<ListFolderResult, ApiError> {
    let invalid = || ApiError::bad_request(format!("Invalid \"cursor\" parameter: {cursor:?}"));
    let cursor = Cursor::decode(cursor)
        .filter(|c| c.account == account)
        .ok_or_else(invalid)?;
    if cursor.epoch != files.epoch() {
        return Err(ApiError::Conflict("reset"));
    }
    let end = cursor.window.map_or(cursor.position, |w| w.end);
    if cursor.position > end || end > files.log_len() {
        return Err(invalid());
    }
    Ok(next_page(files, cursor, page_size))
}

/// A cursor at the current end of the log, as if a listing had just been paged through.
pub(crate) fn latest_cursor(
    files: &Namespace,
    account: &str,
    arg: &ListFolderArg,
) -> Result<LatestCursorResult, ApiError> {
    let cursor = Cursor {
        account: account.to_owned(),
        view: view(files, &arg.path, arg.recursive)?,
        limit: limit(arg.limit)?,
        epoch: files.epoch(),
        position: files.log_len(),
        window: None,
    };
    Ok(LatestCursorResult {
        cursor: cursor.encode(),
    })
}

fn next_page(files: &Namespace, mut cursor: Cursor, page_size: usize) -> ListFolderResult {
    let window = cursor.window.unwrap_or(Window {
        end: files.log_len(),
        offset: 0,
        include_deleted: true,
    });
    let changes = files.changes(
        cursor.position,
        window.end,
        &cursor.view,
        window.include_deleted,
    );
    let page = cursor
        .limit
        .map_or(page_size, |limit| limit.min(page_size))
        .max(1);
    let entries: Vec<Metadata> = changes
        .iter()
        .skip(window.offset)
        .take(page)
        .map(|&e| e.clone())
        .collect();
    let seen = window.offset + entries.len();
    let has_more = seen < changes.len();
    if has_more {
        cursor.window = Some(Window {
            offset: seen,
            ..window
        });
    } else {
        cursor.position = window.end;
        cursor.window = None;
    }
    ListFolderResult {
        entries,
        cursor: cursor.encode(),
        has_more,
    }
}

/// Resolves the `path` argument: `""` is the root, `/…` a folder path, `id:…` a folder id.
fn view(files: &Namespace, path: &str, recursive: bool) -> Result<View, ApiError> {
    if path.is_empty() {
        return Ok(View {
            path: String::new(),
            recursive,
        });
    }
    let node = if path.starts_with("id:") {
        files.find_by_id(path)
    } else if path.starts_with('/') {
        if path.ends_with('/') {
            return Err(ApiError::Path("malformed_path"));
        }
        files.get(&path.to_lowercase())
    } else {
        return Err(ApiError::bad_request(format!(
            "path: '{path}' did not match pattern '(/(.|[\\r\\n])*)?|id:.*|(ns:[0-9]+(/.*)?)'"
        )));
    };
    match node {
        Some(Metadata::Folder(folder)) => Ok(View {
            path: folder.path_lower.clone(),
            recursive,
        }),
        Some(_) => Err(ApiError::Path("not_folder")),
        None => Err(ApiError::Path("not_found")),
    }
}

fn limit(limit: Option<u32>) -> Result<Option<usize>, ApiError> {
    match limit {
        None => Ok(None),
        Some(n @ 1..=2000) => Ok(usize::try_from(n).ok()),
        Some(n) => Err(ApiError::bad_request(format!(
            "limit: {n} is not within range [1, 2000]"
        ))),
    }
}
