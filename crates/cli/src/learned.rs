//! Where `genjob wait` keeps what it learned about how long jobs take: the library's
//! [`FileStore`] in the user's cache directory, unless `--no-learn` or [`DISABLE_VAR`] turns it off.
//!
//! The store reports what went wrong; this prints it as a warning (a learned-durations file that
//! cannot be used or saved never changes a wait's result or exit code).

use crate::redact::{Redactor, for_terminal};
use crate::sources::Lookup;
use genjob::{DurationEstimates, FileStore, LearnedStore, StoreError};

/// Set to anything but empty, `0` or `false`, this turns learning off like `--no-learn`.
pub const DISABLE_VAR: &str = "GENJOB_NO_LEARN";

/// True when [`DISABLE_VAR`] turns learning off.
pub fn disabled(lookup: Lookup<'_>) -> bool {
    lookup(DISABLE_VAR).is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// What earlier runs learned; nothing learned, with a warning, when the file cannot be used.
pub fn load(store: &FileStore, lookup: Lookup<'_>) -> DurationEstimates {
    store.load().unwrap_or_else(|e| {
        warn(&e, lookup);
        DurationEstimates::new()
    })
}

/// Saves what this run learned, merged into the file; a failure is a warning, never the wait's error.
pub fn save(store: &FileStore, learned: &DurationEstimates, lookup: Lookup<'_>) {
    if let Err(e) = store.save_merged(learned) {
        warn(&e, lookup);
    }
}

/// Prints the warning as every stderr line is: without tokens or control characters (a path may hold either).
fn warn(error: &StoreError, lookup: Lookup<'_>) {
    let shown = for_terminal(&Redactor::from_lookup(lookup).redact(&error.to_string()));
    eprintln!("genjob: warning: {shown}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name: &str| vars.get(name).cloned()
    }

    #[test]
    fn the_variable_turns_learning_off_unless_it_says_no() {
        assert!(disabled(&env(&[(DISABLE_VAR, "1")])) && disabled(&env(&[(DISABLE_VAR, "yes")])));
        for off in ["", "0", "false"] {
            assert!(!disabled(&env(&[(DISABLE_VAR, off)])), "{off:?}");
        }
        assert!(!disabled(&env(&[])));
    }
}
