//! Tidy checks that run as ordinary tests: habits of the codebase that a compiler does not enforce.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() && name != "target" && name != "snapshots" {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    fn workspace_sources() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        rust_files(&root.join("crates"), &mut files);
        rust_files(&root.join("xtask"), &mut files);
        assert!(files.len() > 20, "the walk found the sources ({} files)", files.len());
        files
    }

    /// Every Rust file opens with a `//!` line saying what it is for.
    #[test]
    fn every_file_has_a_module_doc() {
        let missing: Vec<String> = workspace_sources()
            .into_iter()
            .filter(|f| !std::fs::read_to_string(f).is_ok_and(|text| text.trim_start().starts_with("//!")))
            .map(|f| f.display().to_string())
            .collect();
        assert!(missing.is_empty(), "add a `//!` line saying what each file is for: {missing:?}");
    }

    /// Tests that never run, or that pass by panicking, prove nothing here.
    #[test]
    fn no_ignored_or_should_panic_tests() {
        let banned = [
            concat!("#[", "ignore"),
            concat!("#[", "should_panic"),
            concat!("todo", "!("),
            concat!("unimplemented", "!("),
        ];
        let offenders: Vec<String> = workspace_sources()
            .into_iter()
            .filter_map(|f| {
                let text = std::fs::read_to_string(&f).ok()?;
                banned.iter().find(|b| text.contains(*b)).map(|b| format!("{}: {b}", f.display()))
            })
            .collect();
        assert!(offenders.is_empty(), "{offenders:?}");
    }
}
