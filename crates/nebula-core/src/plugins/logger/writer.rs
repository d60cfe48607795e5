//! A line writer that never blocks the request path: lines go through a
//! bounded channel to a dedicated thread that writes them out; when the
//! channel is full the line is dropped and counted.
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

/// Lines queued at most before new ones are dropped.
pub const DEFAULT_CAPACITY: usize = 8192;

/// One write at most this long, so that a batch written to a pipe is atomic
/// (POSIX `PIPE_BUF`) and never interleaves with other writers mid-line.
const BATCH_BYTES: usize = 4096;

/// How long dropping the writer waits for queued lines to be written.
const DRAIN_ON_DROP: Duration = Duration::from_millis(250);

enum Msg {
    Line(String),
    /// Write everything queued before, then answer.
    Flush(SyncSender<()>),
}

/// Process stdout or stderr, locked for each write.
pub enum StdStream {
    Stdout,
    Stderr,
}

impl Write for StdStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            StdStream::Stdout => std::io::stdout().lock().write(buf),
            StdStream::Stderr => std::io::stderr().lock().write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            StdStream::Stdout => std::io::stdout().lock().write_all(buf),
            StdStream::Stderr => std::io::stderr().lock().write_all(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            StdStream::Stdout => std::io::stdout().lock().flush(),
            StdStream::Stderr => std::io::stderr().lock().flush(),
        }
    }
}

/// The sending half, shared by every layer of one plugin. Dropping it lets the
/// thread write what is queued and exit.
pub struct NonBlockingWriter {
    tx: Option<SyncSender<Msg>>,
    dropped: Arc<AtomicU64>,
    /// Disconnected when the writer thread has exited.
    finished: Mutex<Receiver<()>>,
}

impl NonBlockingWriter {
    /// Starts the writer thread over `out` with room for `capacity` lines.
    pub fn new(out: Box<dyn Write + Send>, capacity: usize) -> std::io::Result<NonBlockingWriter> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let (done_tx, done_rx) = mpsc::sync_channel::<()>(0);
        let dropped = Arc::new(AtomicU64::new(0));
        let failed = dropped.clone();
        std::thread::Builder::new()
            .name("nebula-access-log".into())
            .spawn(move || {
                run(rx, out, &failed);
                drop(done_tx);
            })?;
        Ok(NonBlockingWriter {
            tx: Some(tx),
            dropped,
            finished: Mutex::new(done_rx),
        })
    }

    /// Queues one line (without its newline). Never blocks: when the queue is
    /// full the line is dropped and counted in [`Self::dropped`].
    pub fn send(&self, line: String) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines dropped so far (queue full or the output failing).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits (up to `timeout`) until every line queued before was written.
    /// Blocks: for tests and shutdown, never on the request path.
    pub fn flush(&self, timeout: Duration) -> bool {
        let Some(tx) = &self.tx else { return false };
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if tx.send(Msg::Flush(ack_tx)).is_err() {
            return false;
        }
        ack_rx.recv_timeout(timeout).is_ok()
    }
}

impl Drop for NonBlockingWriter {
    fn drop(&mut self) {
        drop(self.tx.take());
        // Give the thread a moment to write what is queued; a stuck output
        // must not hang whoever drops the plugin.
        let _ = self.finished.lock().recv_timeout(DRAIN_ON_DROP);
    }
}

/// The writer thread: batches queued lines into writes of at most
/// [`BATCH_BYTES`], cut at line ends.
fn run(rx: Receiver<Msg>, mut out: Box<dyn Write + Send>, dropped: &AtomicU64) {
    let mut batch: Vec<u8> = Vec::with_capacity(BATCH_BYTES);
    let mut lines = 0u64;
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(line) => {
                    if !batch.is_empty() && batch.len() + line.len() + 1 > BATCH_BYTES {
                        write_batch(&mut *out, &mut batch, &mut lines, dropped);
                    }
                    batch.extend_from_slice(line.as_bytes());
                    batch.push(b'\n');
                    lines += 1;
                }
                Msg::Flush(ack) => {
                    write_batch(&mut *out, &mut batch, &mut lines, dropped);
                    let _ = out.flush();
                    let _ = ack.try_send(());
                }
            }
            next = match rx.try_recv() {
                Ok(msg) => Some(msg),
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => None,
            };
        }
        write_batch(&mut *out, &mut batch, &mut lines, dropped);
        let _ = out.flush();
    }
}

fn write_batch(out: &mut dyn Write, batch: &mut Vec<u8>, lines: &mut u64, dropped: &AtomicU64) {
    if batch.is_empty() {
        return;
    }
    if out.write_all(batch).is_err() {
        dropped.fetch_add(*lines, Ordering::Relaxed);
    }
    batch.clear();
    *lines = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Vec-backed output the test can read.
    #[derive(Clone, Default)]
    pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// An output that blocks until the test opens the gate.
    struct Gated(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>, Captured);

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (lock, cv) = &*self.0;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            self.1.write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(c: &Captured) -> String {
        String::from_utf8(c.0.lock().clone()).unwrap()
    }

    #[test]
    fn writes_lines_in_order_with_newlines() {
        let out = Captured::default();
        let w = NonBlockingWriter::new(Box::new(out.clone()), 1024).unwrap();
        for i in 0..100 {
            w.send(format!("line {i}"));
        }
        assert!(w.flush(Duration::from_secs(5)));
        let expected: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text(&out), expected);
        assert_eq!(w.dropped(), 0);
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let out = Captured::default();
        let w = NonBlockingWriter::new(Box::new(Gated(gate.clone(), out.clone())), 4).unwrap();
        let started = std::time::Instant::now();
        let pad = "p".repeat(95);
        for i in 0..1000 {
            w.send(format!("l{i:03}{pad}"));
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "send never blocks"
        );
        // The blocked thread holds one batch (4096 bytes: < 41 lines of 100
        // bytes) plus the line that did not fit, the queue 4: the rest was dropped.
        assert!(w.dropped() >= 1000 - 46, "dropped {}", w.dropped());
        let written_at_most = 1000 - w.dropped();
        {
            let (lock, cv) = &*gate;
            *lock.lock().unwrap() = true;
            cv.notify_all();
        }
        assert!(w.flush(Duration::from_secs(5)));
        let t = text(&out);
        assert_eq!(t.lines().count() as u64, written_at_most);
        assert!(t.starts_with(&format!("l000{pad}\n")));
    }

    #[test]
    fn long_lines_are_written_whole() {
        let out = Captured::default();
        let w = NonBlockingWriter::new(Box::new(out.clone()), 64).unwrap();
        let long = "x".repeat(BATCH_BYTES * 2);
        w.send("a".into());
        w.send(long.clone());
        w.send("b".into());
        assert!(w.flush(Duration::from_secs(5)));
        assert_eq!(text(&out), format!("a\n{long}\nb\n"));
    }

    #[test]
    fn dropping_the_writer_writes_what_is_queued() {
        let out = Captured::default();
        let w = NonBlockingWriter::new(Box::new(out.clone()), 64).unwrap();
        w.send("last words".into());
        drop(w);
        assert_eq!(text(&out), "last words\n");
    }

    #[test]
    fn a_failing_output_counts_lines_as_dropped() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let w = NonBlockingWriter::new(Box::new(Broken), 64).unwrap();
        w.send("a".into());
        w.send("b".into());
        assert!(w.flush(Duration::from_secs(5)));
        assert_eq!(w.dropped(), 2);
    }
}
