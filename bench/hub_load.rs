//! Load generator for the `hub` scenario of `npm run bench`: N receivers and
//! one sender in one room of a WebSocket hub, over plain TCP with a minimal
//! client-side WebSocket of its own (masked client frames, unmasked server
//! frames), on one thread (run.mjs pins it to its own core).
//!
//! Usage:
//!   hub_load --port P[,P2,…] [--protocol gohub|socketio] [--path /ws] [--clients 1000]
//!            [--window 64] [--duration 5] [--warmup 1] [--payload 100] [--room bench]
//!            [--mode load|idle] [--concurrency 64]
//!
//! `load`: the sender sends room messages carrying a sequence number, with
//! `window` messages in flight (a message leaves the window once every
//! receiver got it), for `warmup + duration` seconds; measured over the last
//! `duration` seconds. Prints one JSON line: deliveries/s (messages received by
//! receivers), messages sent/s, latency percentiles (send → receive, same
//! process clock), errors and lost deliveries.
//!
//! With several ports (the nodes of a cluster), connection `i` goes to port
//! `i mod n`: the sender to the first, receivers spread evenly.
//!
//! `idle`: opens `clients` connections, each joined to the room, prints
//! `connected`, and holds them (answering pings) until stdin closes or
//! SIGINT/SIGTERM; then prints a JSON line.
//!
//! Protocols: `gohub` (nebula's wire format: `join_room` → `room_joined`,
//! `room_message`), `socketio` (engine.io v4 over websocket: `0{…}`, `40`,
//! `40{…}`, events `42["event",data]`, ping `2` → pong `3`; `join` →
//! `joined`).
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinSet;

const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Proto {
    GoHub,
    SocketIo,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Load,
    Idle,
}

#[derive(Clone)]
struct Opts {
    host: String,
    ports: Vec<u16>,
    proto: Proto,
    path: String,
    room: String,
    clients: usize,
    window: usize,
    duration: f64,
    warmup: f64,
    payload: usize,
    mode: Mode,
    concurrency: usize,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        host: "127.0.0.1".into(),
        ports: Vec::new(),
        proto: Proto::GoHub,
        path: String::new(),
        room: "bench".into(),
        clients: 1000,
        window: 64,
        duration: 5.0,
        warmup: 1.0,
        payload: 100,
        mode: Mode::Load,
        concurrency: 64,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let key = args[i].as_str();
        let val = args
            .get(i + 1)
            .ok_or_else(|| format!("{key} needs a value"))?
            .clone();
        let num = |v: &str| {
            v.parse::<f64>()
                .map_err(|_| format!("{key}: not a number: {v}"))
        };
        match key {
            "--host" => o.host = val,
            "--port" => {
                o.ports = val
                    .split(',')
                    .map(|p| num(p).map(|n| n as u16))
                    .collect::<Result<_, _>>()?
            }
            "--protocol" => {
                o.proto = match val.as_str() {
                    "gohub" => Proto::GoHub,
                    "socketio" => Proto::SocketIo,
                    other => return Err(format!("unknown protocol {other}")),
                }
            }
            "--path" => o.path = val,
            "--room" => o.room = val,
            "--clients" => o.clients = num(&val)? as usize,
            "--window" => o.window = (num(&val)? as usize).max(1),
            "--duration" => o.duration = num(&val)?,
            "--warmup" => o.warmup = num(&val)?,
            "--payload" => o.payload = num(&val)? as usize,
            "--concurrency" => o.concurrency = (num(&val)? as usize).max(1),
            "--mode" => {
                o.mode = match val.as_str() {
                    "load" => Mode::Load,
                    "idle" => Mode::Idle,
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    if o.ports.is_empty() || o.ports.contains(&0) {
        return Err("--port is required".into());
    }
    if o.path.is_empty() {
        o.path = match o.proto {
            Proto::GoHub => "/ws".into(),
            Proto::SocketIo => "/socket.io/?EIO=4&transport=websocket".into(),
        };
    }
    Ok(o)
}

// ---- the WebSocket client ------------------------------------------------

/// The write half: frames are masked with a fresh key each (xorshift).
struct WsWriter {
    wr: OwnedWriteHalf,
    rng: u64,
    out: Vec<u8>,
}

impl WsWriter {
    fn new(wr: OwnedWriteHalf, seed: u64) -> Self {
        WsWriter {
            wr,
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            out: Vec::with_capacity(512),
        }
    }

    fn mask_key(&mut self) -> [u8; 4] {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x as u32).to_be_bytes()
    }

    async fn send(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let key = self.mask_key();
        self.out.clear();
        self.out.push(0x80 | opcode);
        let len = payload.len();
        if len < 126 {
            self.out.push(0x80 | len as u8);
        } else if len <= 0xFFFF {
            self.out.push(0x80 | 126);
            self.out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.out.push(0x80 | 127);
            self.out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        self.out.extend_from_slice(&key);
        self.out
            .extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i & 3]));
        self.wr.write_all(&self.out).await
    }

    async fn text(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.send(OP_TEXT, payload).await
    }
}

/// One complete message (fragments reassembled) or control frame.
enum Got<'a> {
    Text(&'a [u8]),
    Binary,
    Ping(&'a [u8]),
    Pong,
    Close(u16),
}

/// The read half with its buffer; server frames must be unmasked.
struct WsReader {
    rd: OwnedReadHalf,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    frag: Vec<u8>,
    frag_op: Option<u8>,
}

impl WsReader {
    fn new(rd: OwnedReadHalf) -> Self {
        WsReader {
            rd,
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            frag: Vec::new(),
            frag_op: None,
        }
    }

    /// Reads once more from the socket; returns when the read completed.
    async fn fill(&mut self) -> Result<Instant, String> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < 4096 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < 4096 {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        let n = self
            .rd
            .read(&mut self.buf[self.end..])
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
        self.end += n;
        Ok(Instant::now())
    }

    /// Takes the next frame out of the buffer and hands a complete message
    /// or control frame to `f`. Ok(None): more bytes are needed;
    /// Ok(Some(None)): a fragment was consumed.
    fn next<R>(&mut self, f: impl FnOnce(Got<'_>) -> R) -> Result<Option<Option<R>>, String> {
        let b = &self.buf[self.start..self.end];
        if b.len() < 2 {
            return Ok(None);
        }
        let fin = b[0] & 0x80 != 0;
        let opcode = b[0] & 0x0F;
        if b[1] & 0x80 != 0 {
            return Err("masked frame from the server".into());
        }
        let (len, head) = match b[1] & 0x7F {
            126 => {
                if b.len() < 4 {
                    return Ok(None);
                }
                (u16::from_be_bytes([b[2], b[3]]) as usize, 4)
            }
            127 => {
                if b.len() < 10 {
                    return Ok(None);
                }
                let mut l = [0u8; 8];
                l.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(l) as usize, 10)
            }
            n => (n as usize, 2),
        };
        if b.len() < head + len {
            // Make room for the whole frame if the buffer is too small.
            if head + len > self.buf.len() {
                let want = (head + len).next_power_of_two();
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                self.buf.resize(want.max(self.buf.len()), 0);
            }
            return Ok(None);
        }
        let (ps, pe) = (self.start + head, self.start + head + len);
        self.start = pe;
        let payload = &self.buf[ps..pe];
        let got = match opcode {
            OP_TEXT | OP_BINARY if fin && self.frag_op.is_none() => {
                if opcode == OP_TEXT {
                    Got::Text(payload)
                } else {
                    Got::Binary
                }
            }
            OP_TEXT | OP_BINARY if self.frag_op.is_none() => {
                self.frag_op = Some(opcode);
                self.frag.clear();
                self.frag.extend_from_slice(payload);
                return Ok(Some(None));
            }
            OP_CONT if self.frag_op.is_some() => {
                self.frag.extend_from_slice(payload);
                if !fin {
                    return Ok(Some(None));
                }
                let op = self.frag_op.take();
                if op == Some(OP_TEXT) {
                    Got::Text(&self.frag)
                } else {
                    Got::Binary
                }
            }
            OP_PING => Got::Ping(payload),
            OP_PONG => Got::Pong,
            OP_CLOSE => Got::Close(if payload.len() >= 2 {
                u16::from_be_bytes([payload[0], payload[1]])
            } else {
                1005
            }),
            other => return Err(format!("unexpected opcode {other}")),
        };
        Ok(Some(Some(f(got))))
    }

    /// The next text message, answering control pings (setup phase only).
    async fn recv_text(&mut self, wr: &mut WsWriter) -> Result<Vec<u8>, String> {
        loop {
            enum Step {
                Text(Vec<u8>),
                Ping(Vec<u8>),
                Close(u16),
                Skip,
            }
            match self.next(|g| match g {
                Got::Text(t) => Step::Text(t.to_vec()),
                Got::Ping(p) => Step::Ping(p.to_vec()),
                Got::Close(c) => Step::Close(c),
                Got::Binary | Got::Pong => Step::Skip,
            })? {
                Some(Some(Step::Text(t))) => return Ok(t),
                Some(Some(Step::Ping(p))) => wr
                    .send(OP_PONG, &p)
                    .await
                    .map_err(|e| format!("write: {e}"))?,
                Some(Some(Step::Close(c))) => return Err(format!("closed by the server ({c})")),
                Some(_) => {}
                None => {
                    self.fill().await?;
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        match hay[i..hay.len() - needle.len() + 1]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(p) => {
                i += p;
                if &hay[i..i + needle.len()] == needle {
                    return Some(i);
                }
                i += 1;
            }
        }
    }
    None
}

/// The `"seq":N` of a room message, if the text carries one.
fn seq_of(text: &[u8]) -> Option<u64> {
    let at = find(text, b"\"seq\":")? + 6;
    let mut n: u64 = 0;
    let mut any = false;
    for &b in &text[at..] {
        if b.is_ascii_digit() {
            n = n * 10 + (b - b'0') as u64;
            any = true;
        } else {
            break;
        }
    }
    any.then_some(n)
}

/// Opens one connection: upgrade, protocol handshake, joined to the room.
async fn open(o: Arc<Opts>, index: usize) -> Result<(WsReader, WsWriter), String> {
    let port = o.ports[index % o.ports.len()];
    let stream = TcpStream::connect((o.host.as_str(), port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (rd, wr) = stream.into_split();
    let mut rd = WsReader::new(rd);
    let mut wr = WsWriter::new(wr, index as u64 + 1);
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        o.path, o.host, port
    );
    wr.wr
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let head_end = loop {
        if let Some(p) = find(&rd.buf[..rd.end], b"\r\n\r\n") {
            break p + 4;
        }
        rd.fill().await.map_err(|e| format!("upgrade: {e}"))?;
    };
    let head = String::from_utf8_lossy(&rd.buf[..head_end]).into_owned();
    if !head.starts_with("HTTP/1.1 101") {
        return Err(format!(
            "upgrade refused: {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    rd.start = head_end;
    match o.proto {
        Proto::GoHub => {
            let join = format!(
                r#"{{"message_id":1,"message_type":"join_room","data":{{"room_id":"{}"}}}}"#,
                o.room
            );
            wr.text(join.as_bytes())
                .await
                .map_err(|e| format!("write: {e}"))?;
            loop {
                let t = rd.recv_text(&mut wr).await?;
                if find(&t, b"\"room_joined\"").is_some() {
                    break;
                }
                if find(&t, b"\"error\"").is_some() {
                    return Err(format!("join refused: {}", String::from_utf8_lossy(&t)));
                }
            }
        }
        Proto::SocketIo => {
            let open = rd.recv_text(&mut wr).await?;
            if open.first() != Some(&b'0') {
                return Err(format!(
                    "expected engine.io open, got {}",
                    String::from_utf8_lossy(&open)
                ));
            }
            wr.text(b"40").await.map_err(|e| format!("write: {e}"))?;
            loop {
                let t = rd.recv_text(&mut wr).await?;
                if t.starts_with(b"40") {
                    break;
                }
                if t.starts_with(b"44") {
                    return Err(format!(
                        "namespace refused: {}",
                        String::from_utf8_lossy(&t)
                    ));
                }
                if t == b"2" {
                    wr.text(b"3").await.map_err(|e| format!("write: {e}"))?;
                }
            }
            let join = format!(r#"42["join","{}"]"#, o.room);
            wr.text(join.as_bytes())
                .await
                .map_err(|e| format!("write: {e}"))?;
            loop {
                let t = rd.recv_text(&mut wr).await?;
                if t.starts_with(b"42[\"joined\"") {
                    break;
                }
                if t == b"2" {
                    wr.text(b"3").await.map_err(|e| format!("write: {e}"))?;
                }
            }
        }
    }
    Ok((rd, wr))
}

/// Opens `n` connections, `concurrency` at a time; indexes from `first`.
async fn open_all(
    o: &Arc<Opts>,
    first: usize,
    n: usize,
) -> (Vec<(WsReader, WsWriter)>, Vec<String>) {
    let mut conns = Vec::with_capacity(n);
    let mut errors = Vec::new();
    let mut set = JoinSet::new();
    let mut next = 0;
    while next < n || !set.is_empty() {
        while next < n && set.len() < o.concurrency {
            set.spawn(open(o.clone(), first + next));
            next += 1;
        }
        match set.join_next().await {
            Some(Ok(Ok(c))) => conns.push(c),
            Some(Ok(Err(e))) => errors.push(e),
            Some(Err(e)) => errors.push(format!("task: {e}")),
            None => {}
        }
    }
    (conns, errors)
}

// ---- latency histogram ---------------------------------------------------

/// 1 µs buckets up to ~1 s, then 1 ms buckets up to 120 s.
struct Hist {
    fine: Vec<u32>,
    coarse: Vec<u32>,
    count: u64,
    max_us: u64,
}

const FINE: usize = 1 << 20;

impl Hist {
    fn new() -> Self {
        Hist {
            fine: vec![0; FINE],
            coarse: vec![0; 120_000],
            count: 0,
            max_us: 0,
        }
    }

    fn record(&mut self, us: u64) {
        if (us as usize) < FINE {
            self.fine[us as usize] += 1;
        } else {
            let ms = ((us / 1000) as usize).min(self.coarse.len() - 1);
            self.coarse[ms] += 1;
        }
        self.count += 1;
        self.max_us = self.max_us.max(us);
    }

    /// The q-quantile in milliseconds.
    fn quantile_ms(&self, q: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let rank = ((q * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (us, &c) in self.fine.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return us as f64 / 1000.0;
            }
        }
        for (ms, &c) in self.coarse.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                return ms as f64;
            }
        }
        self.max_us as f64 / 1000.0
    }
}

// ---- shared run state ----------------------------------------------------

struct Slot {
    sent: Instant,
    remaining: u32,
    measured: bool,
}

#[derive(Default)]
struct Errors {
    /// A receiver got a sequence number it already had, or one never sent.
    duplicate: u64,
    /// A receiver got sequence numbers out of order.
    out_of_order: u64,
    /// Text that is not a room message (error replies and the like).
    unexpected: u64,
    /// Connections that ended (closed, reset, protocol error).
    closed: u64,
    first: Option<String>,
}

impl Errors {
    fn note(&mut self, e: String) {
        if self.first.is_none() {
            self.first = Some(e);
        }
    }

    fn total(&self) -> u64 {
        self.duplicate + self.out_of_order + self.unexpected + self.closed
    }
}

struct State {
    receivers: u32,
    /// Sequence number of `slots[0]`.
    base: u64,
    slots: VecDeque<Slot>,
    in_flight: usize,
    measuring: bool,
    deliveries: u64,
    /// Text bytes of the deliveries counted in `deliveries`.
    delivered_bytes: u64,
    all_deliveries: u64,
    hist: Hist,
    errors: Errors,
    last_progress: Instant,
    notify: Rc<Notify>,
}

impl State {
    /// Nothing sent or received yet; `receivers` members get each message.
    fn new(receivers: u32, notify: Rc<Notify>) -> State {
        State {
            receivers,
            base: 0,
            slots: VecDeque::new(),
            in_flight: 0,
            measuring: false,
            deliveries: 0,
            delivered_bytes: 0,
            all_deliveries: 0,
            hist: Hist::new(),
            errors: Errors::default(),
            last_progress: Instant::now(),
            notify,
        }
    }

    fn deliver(&mut self, seq: u64, bytes: usize, now: Instant) {
        if self.measuring {
            self.deliveries += 1;
            self.delivered_bytes += bytes as u64;
        }
        self.all_deliveries += 1;
        if seq < self.base || (seq - self.base) as usize >= self.slots.len() {
            self.errors.duplicate += 1;
            return;
        }
        let slot = &mut self.slots[(seq - self.base) as usize];
        if slot.remaining == 0 {
            self.errors.duplicate += 1;
            return;
        }
        slot.remaining -= 1;
        if slot.measured {
            let us = now.saturating_duration_since(slot.sent).as_micros() as u64;
            self.hist.record(us);
        }
        if slot.remaining == 0 {
            self.in_flight -= 1;
            self.last_progress = now;
            self.notify.notify_one();
            while self.slots.front().is_some_and(|s| s.remaining == 0) {
                self.slots.pop_front();
                self.base += 1;
            }
        }
    }

    fn lost(&self) -> u64 {
        self.slots.iter().map(|s| s.remaining as u64).sum()
    }
}

/// Reads one connection until it ends: room messages are delivered to the
/// state, pings answered.
async fn receive(mut rd: WsReader, wr: Rc<Mutex<WsWriter>>, st: Rc<RefCell<State>>, proto: Proto) {
    let mut now = Instant::now();
    let mut last_seq: Option<u64> = None;
    let mut replies: Vec<(u8, Vec<u8>)> = Vec::new();
    loop {
        {
            let mut s = st.borrow_mut();
            loop {
                let step = rd.next(|g| match g {
                    Got::Text(t) => {
                        if let Some(seq) = seq_of(t) {
                            if last_seq.is_some_and(|l| seq <= l) {
                                s.errors.out_of_order += 1;
                            }
                            last_seq = Some(seq);
                            s.deliver(seq, t.len(), now);
                        } else if proto == Proto::SocketIo && t == b"2" {
                            replies.push((OP_TEXT, b"3".to_vec()));
                        } else {
                            s.errors.unexpected += 1;
                            let text = String::from_utf8_lossy(&t[..t.len().min(200)]).into_owned();
                            s.errors.note(format!("unexpected message: {text}"));
                        }
                        None
                    }
                    Got::Ping(p) => {
                        replies.push((OP_PONG, p.to_vec()));
                        None
                    }
                    Got::Close(code) => Some(format!("closed by the server ({code})")),
                    Got::Binary => {
                        s.errors.unexpected += 1;
                        None
                    }
                    Got::Pong => None,
                });
                match step {
                    Ok(None) => break,
                    Ok(Some(Some(Some(end)))) => {
                        s.errors.closed += 1;
                        s.errors.note(end);
                        return;
                    }
                    Ok(Some(_)) => {}
                    Err(e) => {
                        s.errors.closed += 1;
                        s.errors.note(e);
                        return;
                    }
                }
            }
        }
        if !replies.is_empty() {
            let mut w = wr.lock().await;
            for (op, p) in replies.drain(..) {
                let _ = w.send(op, &p).await;
            }
        }
        match rd.fill().await {
            Ok(t) => now = t,
            Err(e) => {
                let mut s = st.borrow_mut();
                s.errors.closed += 1;
                s.errors.note(e);
                return;
            }
        }
    }
}

fn message(proto: Proto, room: &str, seq: u64, pad: &str) -> String {
    match proto {
        Proto::GoHub => format!(
            r#"{{"message_id":{seq},"message_type":"room_message","data":{{"room_id":"{room}","content":{{"seq":{seq},"pad":"{pad}"}}}}}}"#
        ),
        Proto::SocketIo => format!(
            r#"42["room_message",{{"room_id":"{room}","content":{{"seq":{seq},"pad":"{pad}"}}}}]"#
        ),
    }
}

/// The padding that makes `content` (`{"seq":N,"pad":"…"}`) about `payload` bytes.
fn padding(payload: usize) -> String {
    "x".repeat(payload.saturating_sub(r#"{"seq":100000,"pad":""}"#.len()))
}

/// CPU seconds (user + system) used by this process so far.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based).
    let ticks = |i: usize| {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(14) + ticks(15)) / 100.0
}

fn json_num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "null".into()
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"?\"".into())
}

async fn run_load(o: Arc<Opts>) -> Result<(), String> {
    let (conns, open_errors) = open_all(&o, 0, o.clients + 1).await;
    if !open_errors.is_empty() {
        return Err(format!(
            "{} of {} connections failed; first: {}",
            open_errors.len(),
            o.clients + 1,
            open_errors[0]
        ));
    }
    let notify = Rc::new(Notify::new());
    let st = Rc::new(RefCell::new(State::new(o.clients as u32, notify.clone())));
    let mut conns = conns.into_iter();
    let (sender_rd, sender_wr) = conns.next().ok_or("no connection")?;
    let sender_wr = Rc::new(Mutex::new(sender_wr));
    tokio::task::spawn_local(receive(sender_rd, sender_wr.clone(), st.clone(), o.proto));
    for (rd, wr) in conns {
        tokio::task::spawn_local(receive(rd, Rc::new(Mutex::new(wr)), st.clone(), o.proto));
    }

    let pad = padding(o.payload);
    let start = Instant::now();
    let t_measure = start + Duration::from_secs_f64(o.warmup);
    let t_end = t_measure + Duration::from_secs_f64(o.duration);
    let stall = Duration::from_secs(10);

    // The measurement window's boundaries.
    let marks = {
        let st = st.clone();
        let secs = o.duration;
        tokio::task::spawn_local(async move {
            tokio::time::sleep_until(t_measure.into()).await;
            let cpu0 = cpu_seconds();
            st.borrow_mut().measuring = true;
            tokio::time::sleep_until(t_end.into()).await;
            st.borrow_mut().measuring = false;
            let cpu1 = cpu_seconds();
            (cpu1 - cpu0) / secs
        })
    };

    let mut seq: u64 = 0;
    let mut sent_measured: u64 = 0;
    let mut stalled = false;
    'send: loop {
        loop {
            let (in_flight, last) = {
                let s = st.borrow();
                (s.in_flight, s.last_progress)
            };
            if Instant::now() >= t_end {
                break 'send;
            }
            if in_flight < o.window {
                break;
            }
            if last.elapsed() > stall {
                stalled = true;
                break 'send;
            }
            tokio::select! {
                _ = notify.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
        let text = message(o.proto, &o.room, seq, &pad);
        let now = Instant::now();
        {
            let mut s = st.borrow_mut();
            let measured = s.measuring;
            let receivers = s.receivers;
            if s.slots.is_empty() {
                s.base = seq;
            }
            s.slots.push_back(Slot {
                sent: now,
                remaining: receivers,
                measured,
            });
            s.in_flight += 1;
            if s.in_flight == 1 {
                s.last_progress = now;
            }
            if measured {
                sent_measured += 1;
            }
        }
        seq += 1;
        if let Err(e) = sender_wr.lock().await.text(text.as_bytes()).await {
            let mut s = st.borrow_mut();
            s.errors.closed += 1;
            s.errors.note(format!("sender write: {e}"));
            break;
        }
    }
    let gen_cpu = if stalled {
        f64::NAN
    } else {
        marks.await.unwrap_or(f64::NAN)
    };

    // Drain: wait for the messages in flight (up to 5 s without progress).
    let drain_start = Instant::now();
    loop {
        let (in_flight, last) = {
            let s = st.borrow();
            (s.in_flight, s.last_progress)
        };
        if in_flight == 0
            || last.elapsed() > Duration::from_secs(5)
                && drain_start.elapsed() > Duration::from_secs(5)
        {
            break;
        }
        tokio::select! {
            _ = notify.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }

    let s = st.borrow();
    let secs = o.duration;
    let proto = match o.proto {
        Proto::GoHub => "gohub",
        Proto::SocketIo => "socketio",
    };
    let out = format!(
        concat!(
            "{{\"protocol\":\"{}\",\"clients\":{},\"window\":{},\"payload\":{},\"duration\":{},",
            "\"sent\":{},\"sent_per_s\":{},\"deliveries\":{},\"deliveries_per_s\":{},\"bytes_per_delivery\":{},",
            "\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"latency_samples\":{},",
            "\"messages_total\":{},\"deliveries_total\":{},\"lost\":{},\"stalled\":{},",
            "\"errors\":{},\"duplicate\":{},\"out_of_order\":{},\"unexpected\":{},\"closed\":{},",
            "\"gen_cpu\":{},\"first_error\":{}}}"
        ),
        proto,
        o.clients,
        o.window,
        o.payload,
        secs,
        sent_measured,
        json_num(sent_measured as f64 / secs, 1),
        s.deliveries,
        json_num(s.deliveries as f64 / secs, 1),
        json_num(s.delivered_bytes as f64 / s.deliveries as f64, 1),
        json_num(s.hist.quantile_ms(0.50), 3),
        json_num(s.hist.quantile_ms(0.90), 3),
        json_num(s.hist.quantile_ms(0.99), 3),
        json_num(s.hist.max_us as f64 / 1000.0, 3),
        s.hist.count,
        seq,
        s.all_deliveries,
        s.lost(),
        stalled,
        s.errors.total() + u64::from(stalled),
        s.errors.duplicate,
        s.errors.out_of_order,
        s.errors.unexpected,
        s.errors.closed,
        json_num(gen_cpu, 3),
        s.errors.first.as_deref().map_or("null".into(), json_str),
    );
    println!("{out}");
    Ok(())
}

async fn run_idle(o: Arc<Opts>) -> Result<(), String> {
    let (conns, open_errors) = open_all(&o, 0, o.clients).await;
    let notify = Rc::new(Notify::new());
    let st = Rc::new(RefCell::new(State::new(0, notify)));
    let connected = conns.len();
    for (rd, wr) in conns {
        tokio::task::spawn_local(receive(rd, Rc::new(Mutex::new(wr)), st.clone(), o.proto));
    }
    println!("connected {connected}");
    let _ = std::io::stdout().flush();

    let mut stdin = tokio::io::stdin();
    let mut sink = [0u8; 256];
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            r = stdin.read(&mut sink) => if matches!(r, Ok(0) | Err(_)) { break },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    let s = st.borrow();
    println!(
        "{{\"mode\":\"idle\",\"connected\":{},\"failed\":{},\"errors\":{},\"first_error\":{}}}",
        connected,
        open_errors.len(),
        s.errors.total() + open_errors.len() as u64,
        open_errors
            .first()
            .or(s.errors.first.as_ref())
            .map_or("null".into(), |e| json_str(e)),
    );
    Ok(())
}

fn main() {
    let o = match parse_args() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("hub_load: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&rt, async move {
        match o.mode {
            Mode::Load => run_load(o).await,
            Mode::Idle => run_idle(o).await,
        }
    });
    let _ = std::io::stdout().flush();
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("hub_load: {e}");
            std::process::exit(1);
        }
    }
}
