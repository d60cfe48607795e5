//! A loop server turned by a thread of its own, which blocks in `poll(2)`
//! on the server's fd: how `cargo test` runs every server test in loop
//! mode without Node (the addon turns it from Node's event loop instead).
use std::io;
use std::sync::Arc;

use super::loop_server::{LoopServer, Turn};
use crate::http::server::ServerHandle;
use crate::http::Service;

/// Binds `host:port` and serves there from a new thread, until stopped.
/// Call within the tokio runtime that runs what the loop hands over.
pub fn listen_on_thread(service: Arc<Service>, host: &str, port: u16) -> io::Result<ServerHandle> {
    let rt = tokio::runtime::Handle::current();
    let (mut server, handle) = LoopServer::bind(service, host, port, rt)?;
    std::thread::Builder::new()
        .name("nebula-loop".into())
        .spawn(move || loop {
            let mut fds = libc::pollfd {
                fd: server.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for the call's duration.
            let n = unsafe { libc::poll(&mut fds, 1, 1000) };
            if n < 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                tracing::error!("loop server thread: poll failed");
                break;
            }
            if server.turn() == Turn::Closed {
                break;
            }
        })?;
    Ok(handle)
}
