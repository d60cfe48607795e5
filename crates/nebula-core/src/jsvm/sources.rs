//! A generation's snapshot of the hooks (and plugins) folder: every `.js` and
//! `.json` file read once, so that scripts never touch the disk and
//! `require()` cannot leave the folders.
//!
//! Virtual paths: files of the hooks folder by their relative path
//! (`lib/util.js`), files of the plugins folder under `@plugins/`.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::config::JsvmConfig;
use super::errors::LoadError;

/// Largest file read (bytes).
pub const MAX_FILE: u64 = 2 << 20;
/// Largest snapshot (bytes, all files).
pub const MAX_TOTAL: u64 = 32 << 20;
/// Most files in a snapshot.
pub const MAX_FILES: usize = 4096;
/// Deepest folder nesting walked.
const MAX_DEPTH: usize = 8;
/// Virtual root of the plugins folder.
pub const PLUGINS_ROOT: &str = "@plugins";

#[derive(Debug, Default)]
pub struct Snapshot {
    /// Hook files (virtual paths), in name order.
    pub hooks: Vec<String>,
    /// Plugin files (virtual paths), in name order.
    pub plugins: Vec<String>,
    /// Every file by virtual path.
    pub files: BTreeMap<String, Arc<str>>,
}

impl Snapshot {
    pub fn read(config: &JsvmConfig) -> Result<Snapshot, LoadError> {
        let mut snap = Snapshot::default();
        let mut total = 0u64;
        let root = canonical(&config.hooks_dir)?;
        walk(&root, &root, "", 0, &mut snap, &mut total)?;
        snap.hooks = snap
            .files
            .keys()
            .filter(|k| !k.contains('/') && config.pattern.matches(k))
            .cloned()
            .collect();
        if let Some(dir) = &config.plugins_dir {
            let proot = canonical(dir)?;
            let prefix = format!("{PLUGINS_ROOT}/");
            walk(&proot, &proot, &prefix, 0, &mut snap, &mut total)?;
            snap.plugins = snap
                .files
                .keys()
                .filter(|k| {
                    k.strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".js"))
                })
                .cloned()
                .collect();
        }
        Ok(snap)
    }

    pub fn source(&self, path: &str) -> Option<&Arc<str>> {
        self.files.get(path)
    }
}

fn canonical(dir: &Path) -> Result<std::path::PathBuf, LoadError> {
    std::fs::canonicalize(dir).map_err(|e| {
        LoadError::new(
            dir.display().to_string(),
            format!("cannot open folder: {e}"),
        )
    })
}

fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    snap: &mut Snapshot,
    total: &mut u64,
) -> Result<(), LoadError> {
    let err = |p: &Path, e: std::io::Error| LoadError::new(p.display().to_string(), e.to_string());
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| err(dir, e))?
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with('.') || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        // Follow symlinks only when they stay inside the folder.
        let Ok(real) = std::fs::canonicalize(&path) else {
            continue;
        };
        if !real.starts_with(root) {
            tracing::warn!(file = %path.display(), "jsvm: skipping a link that leaves the folder");
            continue;
        }
        let Ok(meta) = std::fs::metadata(&real) else {
            continue;
        };
        let virt = format!("{prefix}{name}");
        if meta.is_dir() {
            if depth < MAX_DEPTH {
                walk(root, &real, &format!("{virt}/"), depth + 1, snap, total)?;
            }
            continue;
        }
        if !(name.ends_with(".js") || name.ends_with(".json")) {
            continue;
        }
        if meta.len() > MAX_FILE {
            return Err(LoadError::new(
                virt,
                format!("file is larger than {MAX_FILE} bytes"),
            ));
        }
        *total += meta.len();
        if *total > MAX_TOTAL || snap.files.len() >= MAX_FILES {
            return Err(LoadError::new(
                virt,
                format!("the folders hold more than {MAX_TOTAL} bytes or {MAX_FILES} files"),
            ));
        }
        let bytes = std::fs::read(&real).map_err(|e| err(&real, e))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| LoadError::new(virt.clone(), "file is not valid UTF-8"))?;
        snap.files.insert(virt, Arc::from(text));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_lists_hooks_in_order_and_stays_inside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("b.pb.js"), "1").expect("write");
        std::fs::write(dir.path().join("a.pb.js"), "2").expect("write");
        std::fs::write(dir.path().join("c.js"), "3").expect("write");
        std::fs::create_dir(dir.path().join("lib")).expect("mkdir");
        std::fs::write(dir.path().join("lib/x.pb.js"), "4").expect("write");
        std::fs::write(outside.path().join("secret.js"), "5").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(outside.path().join("secret.js"), dir.path().join("s.js"))
            .expect("symlink");
        let snap = Snapshot::read(&JsvmConfig::new(dir.path())).expect("snapshot");
        assert_eq!(snap.hooks, vec!["a.pb.js", "b.pb.js"]);
        assert!(snap.source("lib/x.pb.js").is_some());
        assert!(snap.source("c.js").is_some());
        assert!(
            snap.source("s.js").is_none(),
            "a link out of the folder is skipped"
        );
    }
}
