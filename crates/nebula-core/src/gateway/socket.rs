//! Worker addresses: where each instance listens, the runtime directory of
//! `auto` sockets, the `sun_path` limit, and stale socket files.
//!
//! Instance `n` of service `api` has two addresses it alternates between on
//! rolling restarts (the new worker starts while the old one still serves):
//! `<dir>/api-<n>.sock` and `<dir>/api-<n>.b.sock`; TCP uses `port + n` and
//! `port + instances + n`.
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config::{ServiceSpec, SocketSpec};
use super::endpoint::EndpointAddr;
use super::error::SocketError;

/// `sun_path` holds 108 bytes including the terminating NUL.
pub const SUN_PATH_MAX: usize = 107;

/// Where `auto` sockets go: `$XDG_RUNTIME_DIR/nebula`, else `/tmp/nebula-<uid>`.
pub fn default_runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) if Path::new(&dir).is_absolute() => Path::new(&dir).join("nebula"),
        _ => {
            // SAFETY: getuid has no preconditions and cannot fail.
            let uid = unsafe { libc::getuid() };
            PathBuf::from(format!("/tmp/nebula-{uid}"))
        }
    }
}

/// Creates `dir` (mode 0700) or checks that an existing one is a directory of
/// ours that others cannot write to (they could plant sockets in it).
pub fn ensure_runtime_dir(dir: &Path) -> Result<(), SocketError> {
    let ctx = |source: io::Error| SocketError::RuntimeDir {
        dir: dir.to_path_buf(),
        source,
    };
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(ctx(e)),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(ctx)?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() {
        return Err(SocketError::RuntimeDirNotADirectory {
            dir: dir.to_path_buf(),
        });
    }
    if meta.uid() != uid || meta.mode() & 0o022 != 0 {
        return Err(SocketError::RuntimeDirUnsafe {
            dir: dir.to_path_buf(),
            uid,
            owner: meta.uid(),
            mode: meta.mode() & 0o7777,
        });
    }
    Ok(())
}

/// The address of instance `instance` in slot `slot` (0 or 1). Relative
/// paths are taken from `base` (the engine's directory, not the worker's cwd).
pub fn address(
    spec: &ServiceSpec,
    runtime_dir: &Path,
    base: &Path,
    instance: usize,
    slot: usize,
) -> Result<EndpointAddr, SocketError> {
    let suffix = if slot.is_multiple_of(2) { "" } else { ".b" };
    let path = match &spec.socket {
        SocketSpec::Tcp { host, port } => {
            let offset = instance + (slot % 2) * spec.instances;
            let port = u16::try_from(usize::from(*port) + offset).map_err(|_| {
                SocketError::PortPast65535 {
                    service: spec.name.clone(),
                    port: *port,
                    offset,
                }
            })?;
            return Ok(EndpointAddr::Tcp {
                host: host.clone(),
                port,
            });
        }
        SocketSpec::Auto => runtime_dir.join(format!("{}-{instance}{suffix}.sock", spec.name)),
        SocketSpec::Path(p) => {
            let p = base.join(p);
            let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
            let ext = p.extension().map(|e| format!(".{}", e.to_string_lossy()));
            let name = format!(
                "{}-{instance}{suffix}{}",
                stem.unwrap_or_default(),
                ext.unwrap_or_default()
            );
            p.with_file_name(name)
        }
    };
    check_len(&path).map_err(|e| SocketError::Service {
        service: spec.name.clone(),
        source: Box::new(e),
    })?;
    Ok(EndpointAddr::Unix(path))
}

pub fn check_len(path: &Path) -> Result<(), SocketError> {
    let len = path.as_os_str().len();
    if len > SUN_PATH_MAX {
        return Err(SocketError::PathTooLong {
            path: path.to_path_buf(),
            len,
        });
    }
    Ok(())
}

/// Before a worker starts on `addr`: a stale socket file is removed; a socket
/// someone listens on, or a file that is no socket, is an error.
pub async fn prepare(addr: &EndpointAddr) -> Result<(), SocketError> {
    let io_error = |path: &Path, source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    match addr {
        EndpointAddr::Unix(path) => {
            let meta = match std::fs::symlink_metadata(path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(io_error(path, e)),
            };
            if !meta.file_type().is_socket() {
                return Err(SocketError::NotASocket { path: path.clone() });
            }
            match tokio::time::timeout(
                Duration::from_secs(1),
                tokio::net::UnixStream::connect(path),
            )
            .await
            {
                Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .or_else(ignore_not_found)
                        .map_err(|source| SocketError::RemoveStale {
                            path: path.clone(),
                            source,
                        })
                }
                Ok(Err(e)) => Err(io_error(path, e)),
                Ok(Ok(_)) | Err(_) => Err(SocketError::InUse {
                    addr: path.display().to_string(),
                }),
            }
        }
        EndpointAddr::Tcp { host, port } => {
            let probe = tokio::net::TcpStream::connect((host.as_str(), *port));
            match tokio::time::timeout(Duration::from_secs(1), probe).await {
                Ok(Ok(_)) => Err(SocketError::InUse {
                    addr: format!("{host}:{port}"),
                }),
                _ => Ok(()),
            }
        }
    }
}

/// After a worker stopped: its socket file goes (best effort, only a socket).
pub fn remove(addr: &EndpointAddr) {
    if let EndpointAddr::Unix(path) = addr {
        let is_socket = std::fs::symlink_metadata(path)
            .map(|m| m.file_type().is_socket())
            .unwrap_or(false);
        if is_socket {
            if let Err(e) = std::fs::remove_file(path).or_else(ignore_not_found) {
                tracing::warn!(target: "nebula::gateway", "cannot remove socket {}: {e}", path.display());
            }
        }
    }
}

fn ignore_not_found(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Classify, ErrorKind};

    fn spec(socket: SocketSpec) -> ServiceSpec {
        let mut s = ServiceSpec::new("api", vec!["x".into()]);
        s.instances = 2;
        s.socket = socket;
        s
    }

    #[test]
    fn addresses_alternate_between_two_slots() {
        let run = Path::new("/run/n");
        let base = Path::new("/srv/app");
        let s = spec(SocketSpec::Auto);
        let unix = |p: &str| EndpointAddr::Unix(PathBuf::from(p));
        let at = |s: &ServiceSpec, instance, slot| address(s, run, base, instance, slot).unwrap();
        assert_eq!(at(&s, 1, 0), unix("/run/n/api-1.sock"));
        assert_eq!(at(&s, 1, 1), unix("/run/n/api-1.b.sock"));
        let s = spec(SocketSpec::Path("sock/w.sock".into()));
        assert_eq!(at(&s, 0, 0), unix("/srv/app/sock/w-0.sock"));
        assert_eq!(at(&s, 0, 1), unix("/srv/app/sock/w-0.b.sock"));
        let s = spec(SocketSpec::Tcp {
            host: "127.0.0.1".into(),
            port: 9000,
        });
        let tcp = |port| EndpointAddr::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        assert_eq!(at(&s, 1, 0), tcp(9001));
        assert_eq!(at(&s, 1, 1), tcp(9003));
    }

    #[test]
    fn a_path_too_long_for_sun_path_is_refused() {
        let run = PathBuf::from(format!("/tmp/{}", "d".repeat(100)));
        let e = address(&spec(SocketSpec::Auto), &run, Path::new("/"), 0, 0).unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        let e = e.to_string();
        assert!(e.starts_with("api: socket path /tmp/ddd"), "{e}");
        assert!(
            e.contains("is 116 bytes, a Unix socket path can have at most 107"),
            "{e}"
        );
    }

    #[test]
    fn the_runtime_dir_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_runtime_dir(&dir).unwrap();
        ensure_runtime_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let e = ensure_runtime_dir(&dir).unwrap_err();
        assert!(e.is_bad_input(), "{e}");
        assert!(e.to_string().contains("not writable by others"), "{e}");
        let file = tmp.path().join("f");
        std::fs::write(&file, "").unwrap();
        assert!(ensure_runtime_dir(&file)
            .unwrap_err()
            .to_string()
            .contains("not a directory"));
    }

    #[tokio::test]
    async fn stale_sockets_go_live_ones_and_files_stay() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("s.sock");
        let addr = EndpointAddr::Unix(path.clone());
        prepare(&addr).await.unwrap();
        // A listener that is gone leaves a stale file behind.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        prepare(&addr).await.unwrap();
        assert!(!path.exists());
        let live = tokio::net::UnixListener::bind(&path).unwrap();
        let e = prepare(&addr).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Failed, "{e}");
        let e = e.to_string();
        assert!(e.ends_with("is in use by another process"), "{e}");
        drop(live);
        remove(&addr);
        assert!(!path.exists());
        std::fs::write(&path, "data").unwrap();
        let e = prepare(&addr).await.unwrap_err().to_string();
        assert!(
            e.ends_with("exists and is not a socket; not removing it"),
            "{e}"
        );
        remove(&addr);
        assert!(path.exists());
    }
}
