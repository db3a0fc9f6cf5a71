//! Dropbox `list_folder` entries → standard events. Pure: the caller keeps `KnownObjects` per
//! instance and account, so that an object seen before is UPDATED and a new one CREATED.

use std::collections::HashMap;

use schemas::EventType;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// SAP's hub for file storage connectors.
pub const HUB_KEY: &str = "documents";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectType {
    #[serde(rename = "files")]
    Files,
    #[serde(rename = "folders")]
    Folders,
}

impl ObjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Files => "files",
            ObjectType::Folders => "folders",
        }
    }
}

/// One change, ready to become a standard event object.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub event_type: EventType,
    pub object_id: String,
    pub object_type: ObjectType,
    /// When the change happened (the file's `server_modified`), else `None`: the caller's now.
    pub date: Option<String>,
    /// The vendor entry, for `raw`.
    pub entry: Value,
}

/// The objects an instance has reported, by lower-cased path, to tell CREATED from UPDATED and
/// to know what a `deleted` entry (which has no id) removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "HashMap<String, Known>", into = "HashMap<String, Known>")]
pub struct KnownObjects {
    by_path: HashMap<String, Known>,
    /// Index of `by_path` by id, so an entry costs O(1) however many objects are known.
    path_of_id: HashMap<String, String>,
}

impl From<HashMap<String, Known>> for KnownObjects {
    fn from(by_path: HashMap<String, Known>) -> Self {
        let path_of_id = by_path
            .iter()
            .map(|(path, known)| (known.id.clone(), path.clone()))
            .collect();
        Self {
            by_path,
            path_of_id,
        }
    }
}

impl From<KnownObjects> for HashMap<String, Known> {
    fn from(known: KnownObjects) -> Self {
        known.by_path
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Known {
    id: String,
    kind: ObjectType,
}

impl KnownObjects {
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }

    /// Applies `entries` in order and returns one change per entry Dropbox reported.
    pub fn apply(&mut self, entries: &[Value]) -> Vec<Change> {
        entries
            .iter()
            .filter_map(|entry| self.apply_one(entry))
            .collect()
    }

    fn apply_one(&mut self, entry: &Value) -> Option<Change> {
        let text = |key: &str| entry.get(key).and_then(Value::as_str);
        let path_lower = text("path_lower")?.to_owned();
        let kind = match text(".tag")? {
            "file" => ObjectType::Files,
            "folder" => ObjectType::Folders,
            "deleted" => return Some(self.delete(&path_lower, text("path_display"), entry)),
            _ => return None,
        };
        let id = text("id")?.to_owned();
        // A path is new to us, or an id moved to a new path: known ids are UPDATED.
        let event_type = match self.path_of_id.insert(id.clone(), path_lower.clone()) {
            Some(old_path) => {
                if old_path != path_lower {
                    self.by_path.remove(&old_path);
                }
                EventType::Updated
            }
            None => EventType::Created,
        };
        let replaced = self.by_path.insert(
            path_lower,
            Known {
                id: id.clone(),
                kind,
            },
        );
        if let Some(replaced) = replaced.filter(|replaced| replaced.id != id) {
            self.path_of_id.remove(&replaced.id);
        }
        Some(Change {
            event_type,
            object_id: id,
            object_type: kind,
            date: text("server_modified").map(str::to_owned),
            entry: entry.clone(),
        })
    }

    /// A deleted path takes everything under it; its object id is the path, as it has no id.
    fn delete(&mut self, path_lower: &str, path_display: Option<&str>, entry: &Value) -> Change {
        let kind = self
            .by_path
            .get(path_lower)
            .map_or(ObjectType::Files, |known| known.kind);
        let prefix = format!("{path_lower}/");
        let path_of_id = &mut self.path_of_id;
        self.by_path.retain(|path, known| {
            let gone = path == path_lower || path.starts_with(&prefix);
            if gone {
                path_of_id.remove(&known.id);
            }
            !gone
        });
        Change {
            event_type: EventType::Deleted,
            object_id: path_display.unwrap_or(path_lower).to_owned(),
            object_type: kind,
            date: None,
            entry: entry.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn file(id: &str, path: &str) -> Value {
        json!({".tag": "file", "id": id, "path_lower": path.to_lowercase(), "path_display": path,
               "server_modified": "2026-12-04T15:04:03Z"})
    }

    fn folder(id: &str, path: &str) -> Value {
        json!({".tag": "folder", "id": id, "path_lower": path.to_lowercase(), "path_display": path})
    }

    fn deleted(path: &str) -> Value {
        json!({".tag": "deleted", "path_lower": path.to_lowercase(), "path_display": path})
    }

    fn kinds(changes: &[Change]) -> Vec<(EventType, &str, ObjectType)> {
        changes
            .iter()
            .map(|c| (c.event_type, c.object_id.as_str(), c.object_type))
            .collect()
    }

    #[test]
    fn new_objects_are_created_and_known_ones_updated() {
        let mut known = KnownObjects::default();
        let first = known.apply(&[folder("id:d", "/Docs"), file("id:a", "/Docs/a.txt")]);
        assert_eq!(
            kinds(&first),
            [
                (EventType::Created, "id:d", ObjectType::Folders),
                (EventType::Created, "id:a", ObjectType::Files)
            ]
        );
        assert_eq!(first[1].date.as_deref(), Some("2026-12-04T15:04:03Z"));
        let second = known.apply(&[file("id:a", "/Docs/a.txt")]);
        assert_eq!(
            kinds(&second),
            [(EventType::Updated, "id:a", ObjectType::Files)]
        );
    }

    #[test]
    fn deleting_a_folder_forgets_what_was_under_it() {
        let mut known = KnownObjects::default();
        known.apply(&[folder("id:d", "/Docs"), file("id:a", "/Docs/a.txt")]);
        let gone = known.apply(&[deleted("/Docs")]);
        assert_eq!(
            kinds(&gone),
            [(EventType::Deleted, "/Docs", ObjectType::Folders)]
        );
        assert!(known.is_empty());
        let again = known.apply(&[file("id:b", "/Docs/a.txt")]);
        assert_eq!(again[0].event_type, EventType::Created);
    }

    #[test]
    fn a_moved_file_keeps_its_id_and_is_updated() {
        let mut known = KnownObjects::default();
        known.apply(&[file("id:a", "/a.txt")]);
        let moved = known.apply(&[deleted("/a.txt"), file("id:a", "/b.txt")]);
        assert_eq!(moved[1].event_type, EventType::Created);
        let mut known = KnownObjects::default();
        known.apply(&[file("id:a", "/a.txt")]);
        let moved = known.apply(&[file("id:a", "/b.txt")]);
        assert_eq!(moved[0].event_type, EventType::Updated);
        assert_eq!(known.len(), 1);
    }

    #[test]
    fn known_objects_survive_a_round_trip() {
        let mut known = KnownObjects::default();
        known.apply(&[folder("id:d", "/Docs"), file("id:a", "/Docs/a.txt")]);
        let restored: KnownObjects =
            serde_json::from_str(&serde_json::to_string(&known).unwrap()).unwrap();
        assert_eq!(restored, known);
    }

    #[test]
    fn unknown_tags_are_skipped() {
        let mut known = KnownObjects::default();
        assert!(
            known
                .apply(&[json!({".tag": "other", "path_lower": "/x"})])
                .is_empty()
        );
    }
}
