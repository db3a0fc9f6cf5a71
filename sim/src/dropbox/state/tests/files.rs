//! Files, folders and deletions, and how continue coalesces them per path.

use super::*;

#[test]
fn upload_creates_parents_and_keeps_the_id_across_overwrites() {
    let (mut state, account) = setup();
    let first = state
        .upload(&account, "/Photos/2026/A.jpg")
        .expect("upload");
    let second = state
        .upload(&account, "/photos/2026/a.JPG")
        .expect("overwrite");
    let (first, second) = (file(&first), file(&second));
    assert_eq!(first.id, second.id);
    assert_ne!(first.rev, second.rev);
    assert_eq!(second.path_display, "/Photos/2026/A.jpg");
    assert!(first.id.starts_with("id:") && first.id.len() == 25);
    assert_eq!(first.content_hash.len(), 64);
    assert_eq!(first.server_modified.len(), "2026-12-04T15:04:03Z".len());

    let sibling = state
        .upload(&account, "/photos/2026/b.jpg")
        .expect("upload");
    assert_eq!(file(&sibling).path_display, "/Photos/2026/b.jpg");
    let page = list(&state, &account, &root()).expect("list");
    assert_eq!(
        described(&page),
        [
            "folder /photos",
            "folder /photos/2026",
            "file /photos/2026/a.jpg",
            "file /photos/2026/b.jpg"
        ]
    );
    assert!(!page.has_more);
}

#[test]
fn conflicts_and_bad_paths_are_refused() {
    let (mut state, account) = setup();
    state.upload(&account, "/a.txt").expect("upload");
    assert!(matches!(
        state.upload(&account, "/a.txt/b.txt"),
        Err(SimError::Conflict(_))
    ));
    assert!(matches!(
        state.create_folder(&account, "/A.TXT"),
        Err(SimError::Conflict(_))
    ));
    assert!(matches!(
        state.upload(&account, "relative"),
        Err(SimError::InvalidPath { .. })
    ));
    assert!(matches!(
        state.upload(&account, "/a//b"),
        Err(SimError::InvalidPath { .. })
    ));
    assert!(matches!(
        state.delete(&account, "/missing"),
        Err(SimError::NotFound(_))
    ));
    assert!(matches!(
        state.upload("dbid:nobody", "/x"),
        Err(SimError::UnknownAccount(_))
    ));
}

#[test]
fn a_recreated_file_gets_a_new_id() {
    let (mut state, account) = setup();
    let before = file(&state.upload(&account, "/a.txt").expect("upload"))
        .id
        .clone();
    state.delete(&account, "/a.txt").expect("delete");
    let after = file(&state.upload(&account, "/a.txt").expect("upload"))
        .id
        .clone();
    assert_ne!(before, after);
}

#[test]
fn continue_reports_each_changed_path_once_in_its_latest_state() {
    let (mut state, account) = setup();
    state.upload(&account, "/kept.txt").expect("upload");
    let cursor = list(&state, &account, &root()).expect("list").cursor;

    state.upload(&account, "/a.txt").expect("upload");
    let latest_a = state.upload(&account, "/a.txt").expect("overwrite");
    state.upload(&account, "/b.txt").expect("upload");
    state.delete(&account, "/b.txt").expect("delete");
    state.upload(&account, "/c.txt").expect("upload");

    let page = next(&state, &account, &cursor).expect("continue");
    assert_eq!(
        described(&page),
        ["file /a.txt", "deleted /b.txt", "file /c.txt"]
    );
    assert_eq!(page.entries[0], latest_a);
    assert!(!page.has_more);

    let quiet = next(&state, &account, &page.cursor).expect("continue");
    assert!(quiet.entries.is_empty() && !quiet.has_more);
}

#[test]
fn deleting_a_folder_reports_just_the_folder() {
    let (mut state, account) = setup();
    state.upload(&account, "/d/x.txt").expect("upload");
    state.upload(&account, "/d/e/y.txt").expect("upload");
    let cursor = latest(&state, &account);
    state.upload(&account, "/d/new.txt").expect("upload");
    state.delete(&account, "/d").expect("delete");
    assert_eq!(
        described(&next(&state, &account, &cursor).expect("continue")),
        ["deleted /d"]
    );
}

#[test]
fn a_folder_deleted_and_recreated_reports_its_lost_children() {
    let (mut state, account) = setup();
    state.upload(&account, "/d/x.txt").expect("upload");
    let cursor = latest(&state, &account);
    state.delete(&account, "/d").expect("delete");
    state.upload(&account, "/d/z.txt").expect("upload");
    let page = next(&state, &account, &cursor).expect("continue");
    assert_eq!(
        described(&page),
        ["deleted /d/x.txt", "folder /d", "file /d/z.txt"]
    );
}

#[test]
fn first_listing_leaves_out_deletions_unless_asked() {
    let (mut state, account) = setup();
    state.upload(&account, "/gone.txt").expect("upload");
    state.delete(&account, "/gone.txt").expect("delete");
    state.upload(&account, "/here.txt").expect("upload");
    assert_eq!(
        described(&list(&state, &account, &root()).expect("list")),
        ["file /here.txt"]
    );
    let arg = ListFolderArg {
        include_deleted: true,
        ..root()
    };
    assert_eq!(
        described(&list(&state, &account, &arg).expect("list")),
        ["deleted /gone.txt", "file /here.txt"]
    );
}
