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
        if res.is_ok() {
            let _ = tx.send(());
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
    std::thread::Builder::new()
        .name("jsvm-watch".into())
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                // Ends when the debouncer (holding `tx`) is dropped.
                while rx.recv().is_ok() {
                    while rx.try_recv().is_ok() {}
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
