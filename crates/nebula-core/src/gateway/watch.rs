//! Hot reload of workers: a change under a service's `watch` paths (a file,
//! a folder, or a glob such as `app/**/*.py`) triggers a rolling restart of
//! that service. Changes during a restart collapse into one more restart.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Weak};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{new_debouncer, DebounceEventResult, Debouncer};

use super::Gateway;

/// One `watch` entry: the folder (or file) watched and the glob files must match.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchSpec {
    pub root: PathBuf,
    /// Relative to `root`; None: any change under it.
    pub glob: Option<String>,
}

impl WatchSpec {
    /// `base` resolves relative entries (the service's cwd, else the engine's).
    pub fn parse(entry: &str, base: &Path) -> WatchSpec {
        let path = base.join(entry);
        let text = path.to_string_lossy().into_owned();
        let Some(star) = text.find(['*', '?']) else {
            return WatchSpec {
                root: path,
                glob: None,
            };
        };
        let cut = text[..star].rfind('/').unwrap_or(0);
        WatchSpec {
            root: PathBuf::from(&text[..cut.max(1)]),
            glob: Some(text[cut + 1..].to_owned()),
        }
    }

    pub fn matches(&self, changed: &Path) -> bool {
        let Ok(rel) = changed.strip_prefix(&self.root) else {
            return changed == self.root;
        };
        match &self.glob {
            None => true,
            Some(g) => glob(g.as_bytes(), rel.to_string_lossy().as_bytes()),
        }
    }
}

/// `*` any characters but `/`, `**` any characters, `?` one character.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => {
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
        }
        [b'*', rest @ ..] => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob(rest, &s[i..])),
        [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && glob(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// Watching stops when this is dropped.
pub struct Watcher {
    _debouncer: Debouncer<RecommendedWatcher>,
}

/// Watches `specs` for `service`; each change restarts it (rolling) on `runtime`.
pub fn start(
    gateway: Weak<Gateway>,
    service: String,
    specs: Vec<WatchSpec>,
    runtime: tokio::runtime::Handle,
) -> Result<Watcher, String> {
    let busy = Arc::new(AtomicBool::new(false));
    let again = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel::<()>();
    let filters = specs.clone();
    let mut debouncer = new_debouncer(
        Duration::from_millis(200),
        move |res: DebounceEventResult| {
            if let Ok(events) = res {
                if events
                    .iter()
                    .any(|e| filters.iter().any(|f| f.matches(&e.path)))
                {
                    let _ = tx.send(());
                }
            }
        },
    )
    .map_err(|e| format!("{service}.watch: {e}"))?;
    for s in &specs {
        debouncer
            .watcher()
            .watch(&s.root, RecursiveMode::Recursive)
            .map_err(|e| format!("{service}.watch: cannot watch {}: {e}", s.root.display()))?;
    }
    let what = format!("{service}.watch: cannot start the watcher thread");
    std::thread::Builder::new()
        .name("gateway-watch".into())
        .spawn(move || {
            // Ends when the debouncer (holding `tx`) is dropped.
            while rx.recv().is_ok() {
                if busy.swap(true, Ordering::SeqCst) {
                    again.store(true, Ordering::SeqCst);
                    continue;
                }
                let (gateway, service, busy, again) = (gateway.clone(), service.clone(), busy.clone(), again.clone());
                runtime.spawn(async move {
                    loop {
                        let Some(g) = gateway.upgrade() else { break };
                        match g.restart(&service).await {
                            Ok(()) => tracing::info!(target: "nebula::gateway", service = %service, "gateway: restarted after a file change"),
                            Err(e) => tracing::warn!(target: "nebula::gateway", service = %service, error = %e, "gateway: restart after a file change failed; the old workers keep serving"),
                        }
                        if !again.swap(false, Ordering::SeqCst) {
                            break;
                        }
                    }
                    busy.store(false, Ordering::SeqCst);
                });
            }
        })
        .map_err(|e| format!("{what}: {e}"))?;
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_paths_below_their_folder() {
        let s = WatchSpec::parse("app/**/*.py", Path::new("/srv"));
        assert_eq!(s.root, PathBuf::from("/srv/app"));
        assert!(s.matches(Path::new("/srv/app/x.py")));
        assert!(s.matches(Path::new("/srv/app/a/b/x.py")));
        assert!(!s.matches(Path::new("/srv/app/x.pyc")));
        assert!(!s.matches(Path::new("/srv/other/x.py")));
        let flat = WatchSpec::parse("app/*.py", Path::new("/srv"));
        assert!(flat.matches(Path::new("/srv/app/x.py")));
        assert!(!flat.matches(Path::new("/srv/app/a/x.py")));
        let dir = WatchSpec::parse("/etc/app", Path::new("/srv"));
        assert_eq!(
            dir,
            WatchSpec {
                root: PathBuf::from("/etc/app"),
                glob: None
            }
        );
        assert!(dir.matches(Path::new("/etc/app/conf/x")));
    }
}
