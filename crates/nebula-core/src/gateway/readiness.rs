//! Is a worker ready: its socket accepts a connection and, with a health
//! path, `GET <path>` over that socket answers 2xx. A minimal HTTP/1.1
//! client: one request with `Connection: close`, only the status line is read.
use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::time::Instant;

use super::endpoint::EndpointAddr;
use super::error::ReadyError;

/// One probe may take at most this long.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
const FIRST_DELAY: Duration = Duration::from_millis(10);
const MAX_DELAY: Duration = Duration::from_millis(500);
/// A status line longer than this is not HTTP.
const MAX_STATUS_LINE: u64 = 1024;

/// Probes `addr` until it is ready, waiting 10 ms doubling to 500 ms between
/// probes; [`ReadyError::NotReady`] (`not ready within 5 s: connection
/// refused`) after `timeout`.
pub async fn wait_ready(
    addr: &EndpointAddr,
    health_path: Option<&str>,
    timeout: Duration,
) -> Result<(), ReadyError> {
    let deadline = Instant::now() + timeout;
    let mut delay = FIRST_DELAY;
    let mut last = ReadyError::NoProbe;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadyError::NotReady {
                waited: timeout,
                last: Box::new(last),
            });
        }
        last = match tokio::time::timeout(left.min(PROBE_TIMEOUT), probe(addr, health_path)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => ReadyError::NoAnswer,
        };
        tokio::time::sleep_until((Instant::now() + delay).min(deadline)).await;
        delay = (delay * 2).min(MAX_DELAY);
    }
}

/// One probe: connect, and ask the health path if there is one.
pub async fn probe(addr: &EndpointAddr, health_path: Option<&str>) -> Result<(), ReadyError> {
    match addr {
        EndpointAddr::Unix(path) => {
            let stream = tokio::net::UnixStream::connect(path)
                .await
                .map_err(connect_error)?;
            health(stream, health_path).await
        }
        EndpointAddr::Tcp { host, port } => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(connect_error)?;
            health(stream, health_path).await
        }
    }
}

fn connect_error(e: io::Error) -> ReadyError {
    match e.kind() {
        io::ErrorKind::NotFound => ReadyError::NoSocket,
        io::ErrorKind::ConnectionRefused => ReadyError::Refused,
        _ => ReadyError::Connect(e),
    }
}

async fn health<S>(stream: S, health_path: Option<&str>) -> Result<(), ReadyError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(path) = health_path else {
        return Ok(());
    };
    let mut stream = BufReader::new(stream);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: nebula-gateway\r\nConnection: close\r\n\r\n"
    );
    let io_error = |source: io::Error| ReadyError::Request {
        path: path.to_owned(),
        source,
    };
    stream
        .get_mut()
        .write_all(request.as_bytes())
        .await
        .map_err(io_error)?;
    let mut line = Vec::new();
    (&mut stream)
        .take(MAX_STATUS_LINE)
        .read_until(b'\n', &mut line)
        .await
        .map_err(io_error)?;
    match status_code(&line) {
        Some(code) if (200..300).contains(&code) => Ok(()),
        Some(code) => Err(ReadyError::Status {
            path: path.to_owned(),
            code,
        }),
        None if line.is_empty() => Err(ReadyError::Closed {
            path: path.to_owned(),
        }),
        None => Err(ReadyError::NotHttp {
            path: path.to_owned(),
            line: String::from_utf8_lossy(&line).trim_end().to_owned(),
        }),
    }
}

/// `HTTP/1.1 204 No Content\r\n` → 204.
fn status_code(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.trim_end().splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{Classify, ErrorKind};

    #[test]
    fn status_lines_are_read() {
        assert_eq!(status_code(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_code(b"HTTP/1.0 503\r\n"), Some(503));
        assert_eq!(status_code(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(status_code(b"HTTP/1.1 20\r\n"), None);
    }

    /// A server answering each connection with `answer` after reading the request head.
    fn serve(listener: tokio::net::UnixListener, answer: &'static str) {
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                // A probe without a health path only connects.
                if head.starts_with(b"GET /health HTTP/1.1\r\n") {
                    let _ = s.write_all(answer.as_bytes()).await;
                }
            }
        });
    }

    #[tokio::test]
    async fn a_health_path_must_answer_2xx() {
        let tmp = tempfile::tempdir().unwrap();
        let ok = tmp.path().join("ok.sock");
        let bad = tmp.path().join("bad.sock");
        serve(
            tokio::net::UnixListener::bind(&ok).unwrap(),
            "HTTP/1.1 200 OK\r\n\r\n",
        );
        serve(
            tokio::net::UnixListener::bind(&bad).unwrap(),
            "HTTP/1.1 503 Busy\r\n\r\n",
        );
        let ok = EndpointAddr::Unix(ok);
        let bad = EndpointAddr::Unix(bad);
        probe(&ok, Some("/health")).await.unwrap();
        probe(&bad, None).await.unwrap();
        assert_eq!(
            probe(&bad, Some("/health")).await.unwrap_err().to_string(),
            "GET /health answered 503"
        );
        let e = wait_ready(&bad, Some("/health"), Duration::from_millis(50))
            .await
            .unwrap_err()
            .to_string();
        assert_eq!(e, "not ready within 50 ms: GET /health answered 503");
    }

    #[tokio::test]
    async fn no_listener_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("none.sock");
        let addr = EndpointAddr::Unix(path.clone());
        let e = wait_ready(&addr, None, Duration::from_millis(30))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Failed);
        assert_eq!(e.to_string(), "not ready within 30 ms: no socket yet");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let e = probe(&addr, None).await.unwrap_err().to_string();
        assert_eq!(e, "connection refused");
    }
}
