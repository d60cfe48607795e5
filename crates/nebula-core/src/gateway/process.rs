//! One worker process: spawned in a process group of its own, bound to the
//! engine's life, its output forwarded to `tracing`, stopped with SIGTERM
//! then SIGKILL.
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

use super::config::ServiceSpec;
use super::endpoint::EndpointAddr;

/// Longer output lines are logged in pieces of this size.
const MAX_LINE: u64 = 16 * 1024;

/// A running worker process; its process group id is its pid.
#[derive(Debug)]
pub struct Worker {
    pub child: Child,
    pub pid: u32,
}

/// Starts `spec.command` for `instance` listening on `addr` (in `NEBULA_SOCKET`).
///
/// The worker leads a process group of its own (signals reach its children
/// too) and, on Linux, gets SIGKILL when the engine dies, even by SIGKILL.
/// `PR_SET_PDEATHSIG` follows the spawning *thread*: spawn from a runtime's
/// worker thread (any task), never from a short-lived blocking thread.
pub fn spawn(spec: &ServiceSpec, instance: usize, addr: &EndpointAddr) -> io::Result<Worker> {
    let mut cmd = Command::new(&spec.command[0]);
    cmd.args(&spec.command[1..])
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("NEBULA_SOCKET", addr.env_value())
        .env("NEBULA_SERVICE", &spec.name)
        .env("NEBULA_INSTANCE", instance.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    if let EndpointAddr::Tcp { host, port } = addr {
        cmd.env("NEBULA_HOST", host)
            .env("NEBULA_PORT", port.to_string());
    }
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    die_with_parent(&mut cmd);
    let mut child = cmd.spawn()?;
    let pid = child
        .id()
        .ok_or_else(|| io::Error::other("the worker exited before its pid was read"))?;
    let service: Arc<str> = spec.name.as_str().into();
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward(out, Arc::clone(&service), instance, "stdout"));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward(err, service, instance, "stderr"));
    }
    Ok(Worker { child, pid })
}

#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: prctl and getppid are, and the
    // errors are built from an errno without allocating.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The engine died between fork and prctl: do not start at all.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Sends `signal` to the process group `pgid`; a group that is gone is no error.
pub fn signal_group(pgid: u32, signal: libc::c_int) -> io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid).map_err(io::Error::other)?;
    if pgid <= 1 {
        return Err(io::Error::other(format!("refusing to signal group {pgid}")));
    }
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(-pgid, signal) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ESRCH) {
        Ok(())
    } else {
        Err(e)
    }
}

impl Worker {
    /// SIGTERM to the group, SIGKILL after `grace`; returns how the worker
    /// ended. What is left of the group after the leader exited is killed.
    pub async fn stop(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            self.kill_leftovers();
            return Ok(status);
        }
        if let Err(e) = signal_group(self.pid, libc::SIGTERM) {
            tracing::warn!(target: "nebula::gateway", pid = self.pid, "SIGTERM: {e}");
        }
        let status = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status?,
            Err(_) => {
                tracing::warn!(target: "nebula::gateway", pid = self.pid,
                    "worker still running {} after SIGTERM: SIGKILL", super::error::human(grace));
                if let Err(e) = signal_group(self.pid, libc::SIGKILL) {
                    tracing::warn!(target: "nebula::gateway", pid = self.pid, "SIGKILL: {e}");
                }
                self.child.wait().await?
            }
        };
        self.kill_leftovers();
        Ok(status)
    }

    /// After the leader exited: its children must not keep the socket or run on.
    pub fn kill_leftovers(&self) {
        if let Err(e) = signal_group(self.pid, libc::SIGKILL) {
            tracing::debug!(target: "nebula::gateway", pid = self.pid, "SIGKILL group: {e}");
        }
    }
}

/// `exited with code 3`, `killed by signal 9 (SIGKILL)`.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    match status.signal() {
        Some(sig) => {
            let name = match sig {
                libc::SIGHUP => " (SIGHUP)",
                libc::SIGINT => " (SIGINT)",
                libc::SIGABRT => " (SIGABRT)",
                libc::SIGKILL => " (SIGKILL)",
                libc::SIGSEGV => " (SIGSEGV)",
                libc::SIGTERM => " (SIGTERM)",
                _ => "",
            };
            format!("killed by signal {sig}{name}")
        }
        None => format!("ended: {status}"),
    }
}

/// Logs each line of a worker's stdout or stderr, prefixed `[service#n]`.
async fn forward<R: AsyncRead + Unpin>(
    reader: R,
    service: Arc<str>,
    instance: usize,
    stream: &'static str,
) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                tracing::info!(target: "nebula::gateway", service = %service, instance, stream,
                    "[{service}#{instance}] {text}");
            }
            Err(e) => {
                tracing::debug!(target: "nebula::gateway", service = %service, instance, stream,
                    "reading the worker's {stream}: {e}");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            describe_exit(ExitStatus::from_raw(3 << 8)),
            "exited with code 3"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(libc::SIGKILL)),
            "killed by signal 9 (SIGKILL)"
        );
    }

    #[tokio::test]
    async fn a_worker_ignoring_sigterm_is_killed_after_the_grace_period() {
        let tmp = tempfile::tempdir().unwrap();
        let addr = EndpointAddr::Unix(tmp.path().join("w.sock"));
        // A group of two ignoring SIGTERM: a background `sleep` and the worker.
        let script = format!(
            "trap '' TERM; sleep 1000 & exec python3 '{}' ignore-term",
            crate::gateway::tests::testdata("worker.py")
        );
        let spec = ServiceSpec::new("sh", vec!["sh".into(), "-c".into(), script]);
        let mut w = spawn(&spec, 0, &addr).unwrap();
        // Listening means SIGTERM is ignored already.
        super::super::readiness::wait_ready(&addr, None, Duration::from_secs(20))
            .await
            .unwrap();
        let status = w.stop(Duration::from_millis(200)).await.unwrap();
        assert_eq!(describe_exit(status), "killed by signal 9 (SIGKILL)");
        assert!(
            crate::gateway::tests::wait_group_gone(w.pid, Duration::from_secs(10)).await,
            "process group {} survived",
            w.pid
        );
    }
}
