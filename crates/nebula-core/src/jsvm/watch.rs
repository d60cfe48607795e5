//! Hot reload: `notify` (debounced) on the folders; any change rebuilds a
//! generation from a fresh snapshot. Events during a build collapse into one
//! more build.
use std::path::PathBuf;
use std::sync::{mpsc, Weak};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use super::Jsvm;

/// Watching stops when this is dropped.
pub struct Watcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

pub fn start(jsvm: Weak<Jsvm>, dirs: &[PathBuf], debounce: Duration) -> Result<Watcher, String> {
    let (tx, rx) = mpsc::channel::<()>();
    let mut debouncer = new_debouncer(debounce, move |res: DebounceEventResult| {
        if let Ok(events) = res {
            if events.iter().any(|e| relevant(&e.path)) {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| format!("jsvm: cannot watch the folders: {e}"))?;
    for dir in dirs {
        debouncer
            .watcher()
            .watch(dir, RecursiveMode::Recursive)
            .map_err(|e| format!("jsvm: cannot watch {}: {e}", dir.display()))?;
    }
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    let watched = dirs.to_vec();
    let mut last = fingerprint(&watched);
    std::thread::Builder::new()
        .name("jsvm-watch".into())
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                // Ends when the debouncer (holding `tx`) is dropped.
                while rx.recv().is_ok() {
                    while rx.try_recv().is_ok() {}
                    // inotify also reports reads (the reload itself opens every
                    // file): reload only when a file's name, size or mtime moved.
                    let now = fingerprint(&watched);
                    if now == last {
                        continue;
                    }
                    last = now;
                    let Some(j) = jsvm.upgrade() else { return };
                    match j.reload() {
                        Ok(g) => tracing::info!(generation = g, "jsvm: reloaded after a file change"),
                        Err(e) => tracing::warn!(error = %e, "jsvm: reload failed; the previous generation keeps serving"),
                    }
                }
            })
        })
        .map_err(|e| format!("jsvm: cannot start the watcher thread: {e}"))?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

/// Name, size and modification time of every relevant file under `dirs`
/// (sorted; at most 10 000 entries, 16 levels deep).
fn fingerprint(dirs: &[PathBuf]) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    fn walk(
        dir: &std::path::Path,
        depth: usize,
        out: &mut Vec<(PathBuf, u64, Option<std::time::SystemTime>)>,
    ) {
        if depth > 16 || out.len() >= 10_000 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                out.push((path.clone(), 0, None));
                walk(&path, depth + 1, out);
            } else if relevant(&path) {
                out.push((path, meta.len(), meta.modified().ok()));
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        walk(d, 0, &mut out);
    }
    out.sort();
    out
}

/// A change that can alter a generation: a script, a JSON file, or a folder
/// (renamed or removed). `types.d.ts` and editor files are not.
fn relevant(path: &std::path::Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("js") | Some("json") => true,
        Some(_) => false,
        None => !path.is_file(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reading_files_leaves_the_fingerprint_alone_and_writing_moves_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.pb.js"), "1").unwrap();
        let dirs = vec![dir.path().to_path_buf()];
        let before = super::fingerprint(&dirs);
        let _ = std::fs::read_to_string(dir.path().join("a.pb.js")).unwrap();
        assert_eq!(super::fingerprint(&dirs), before);
        std::fs::write(dir.path().join("a.pb.js"), "22").unwrap();
        assert_ne!(super::fingerprint(&dirs), before);
        std::fs::write(dir.path().join("types.d.ts"), "x").unwrap();
        let after = super::fingerprint(&dirs);
        std::fs::write(dir.path().join("types.d.ts"), "yy").unwrap();
        assert_eq!(
            super::fingerprint(&dirs),
            after,
            "types.d.ts is not watched"
        );
    }

    #[test]
    fn only_scripts_and_folders_trigger_a_reload() {
        assert!(super::relevant(std::path::Path::new("/h/a.pb.js")));
        assert!(super::relevant(std::path::Path::new("/h/lib/x.json")));
        assert!(!super::relevant(std::path::Path::new("/h/types.d.ts")));
        assert!(!super::relevant(std::path::Path::new("/h/.a.pb.js.swp")));
        assert!(super::relevant(std::path::Path::new("/nonexistent/dir")));
    }
}
