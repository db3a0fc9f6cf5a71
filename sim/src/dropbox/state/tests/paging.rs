//! Paging, views, cursors: snapshots, limits, latest cursors, resets and malformed cursors.

use super::*;

#[test]
fn listings_page_through_a_snapshot_then_continue_with_later_changes() {
    let (mut state, account) = setup();
    state.set_page_size(2);
    for name in ["a", "b", "c", "d", "e"] {
        state
            .upload(&account, &format!("/{name}.txt"))
            .expect("upload");
    }
    let mut page = list(&state, &account, &root()).expect("list");
    let mut seen = described(&page);
    state
        .upload(&account, "/late.txt")
        .expect("upload during paging");
    while page.has_more {
        assert_eq!(page.entries.len(), 2);
        page = next(&state, &account, &page.cursor).expect("continue");
        seen.extend(described(&page));
    }
    assert_eq!(
        seen,
        [
            "file /a.txt",
            "file /b.txt",
            "file /c.txt",
            "file /d.txt",
            "file /e.txt"
        ]
    );
    assert_eq!(
        described(&next(&state, &account, &page.cursor).expect("continue")),
        ["file /late.txt"]
    );

    state.set_page_size(500);
    let arg = ListFolderArg {
        limit: Some(4),
        ..root()
    };
    let limited = list(&state, &account, &arg).expect("list");
    assert_eq!(limited.entries.len(), 4);
    assert!(limited.has_more);
    assert!(matches!(
        list(
            &state,
            &account,
            &ListFolderArg {
                limit: Some(0),
                ..root()
            }
        ),
        Err(ApiError::BadRequest(_))
    ));
}

#[test]
fn views_cover_a_folder_with_or_without_subfolders() {
    let (mut state, account) = setup();
    for path in ["/top.txt", "/Docs/a.txt", "/docs/sub/b.txt", "/docsx/c.txt"] {
        state.upload(&account, path).expect("upload");
    }
    let flat = ListFolderArg {
        recursive: false,
        ..root()
    };
    assert_eq!(
        described(&list(&state, &account, &flat).expect("list")),
        ["file /top.txt", "folder /docs", "folder /docsx"]
    );
    let docs = ListFolderArg {
        path: "/DOCS".into(),
        ..root()
    };
    assert_eq!(
        described(&list(&state, &account, &docs).expect("list")),
        [
            "folder /docs",
            "file /docs/a.txt",
            "folder /docs/sub",
            "file /docs/sub/b.txt"
        ]
    );
    let missing = ListFolderArg {
        path: "/nope".into(),
        ..root()
    };
    assert_eq!(
        list(&state, &account, &missing).err(),
        Some(ApiError::Path("not_found"))
    );
    let not_folder = ListFolderArg {
        path: "/top.txt".into(),
        ..root()
    };
    assert_eq!(
        list(&state, &account, &not_folder).err(),
        Some(ApiError::Path("not_folder"))
    );
    let slash = ListFolderArg {
        path: "/".into(),
        ..root()
    };
    assert!(list(&state, &account, &slash).is_err());
}

#[test]
fn latest_cursor_sees_only_later_changes() {
    let (mut state, account) = setup();
    state.upload(&account, "/old.txt").expect("upload");
    let cursor = latest(&state, &account);
    assert!(
        next(&state, &account, &cursor)
            .expect("continue")
            .entries
            .is_empty()
    );
    state.upload(&account, "/new.txt").expect("upload");
    assert_eq!(
        described(&next(&state, &account, &cursor).expect("continue")),
        ["file /new.txt"]
    );
}

#[test]
fn reset_invalidates_existing_cursors_only() {
    let (mut state, account) = setup();
    state.upload(&account, "/a.txt").expect("upload");
    let cursor = list(&state, &account, &root()).expect("list").cursor;
    state.reset_cursors(&account).expect("reset");
    assert_eq!(
        next(&state, &account, &cursor).err(),
        Some(ApiError::Conflict("reset"))
    );
    let fresh = list(&state, &account, &root()).expect("list again");
    assert_eq!(described(&fresh), ["file /a.txt"]);
    assert!(next(&state, &account, &fresh.cursor).is_ok());
}

#[test]
fn malformed_or_foreign_cursors_are_bad_requests() {
    let (mut state, account) = setup();
    let other = state.create_account().account_id;
    let foreign = latest(&state, &other);
    assert!(matches!(
        next(&state, &account, "garbage"),
        Err(ApiError::BadRequest(_))
    ));
    assert!(matches!(
        next(&state, &account, &foreign),
        Err(ApiError::BadRequest(_))
    ));
    let view = View {
        path: String::new(),
        recursive: true,
    };
    let ahead = Cursor {
        account: account.clone(),
        view,
        limit: None,
        epoch: 0,
        position: 99,
        window: None,
    };
    assert!(matches!(
        next(&state, &account, &ahead.encode()),
        Err(ApiError::BadRequest(_))
    ));
}

#[test]
fn cursors_round_trip() {
    let view = View {
        path: "/odd\npath/ü".into(),
        recursive: false,
    };
    let window = Some(Window {
        end: 10,
        offset: 4,
        include_deleted: true,
    });
    let cursor = Cursor {
        account: "dbid:AAx".into(),
        view,
        limit: Some(7),
        epoch: 3,
        position: 2,
        window,
    };
    assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
}
