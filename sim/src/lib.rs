//! Local stand-ins for Dropbox's HTTP API and for a customer's webhook endpoint, for tests, demos and benchmarks.
//!
//! [`DropboxSim`] serves the parts of Dropbox the pipeline talks to (`/oauth2/token`, `files/list_folder*`,
//! `users/get_current_account`, `team/get_info`, `team/members/list*`) from in-memory state, sends signed webhook
//! notifications, and can inject faults.
//! [`CallbackReceiver`] plays the customer: it records every callback and answers from a script.
//! Neither depends on the pipeline's crates, so they check it independently.

mod dropbox;
mod error;
mod receiver;

pub use dropbox::{Account, ApiCall, App, AppKind, DropboxSim, Member, Team, dropbox_signature};
pub use error::SimError;
pub use receiver::{CallbackReceiver, Received, Reply, verify_elements_signature};
