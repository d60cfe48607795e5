//! What travels on the bus: a one-line JSON header (origin node, its
//! incarnation, a sequence number, the kind and its routing fields), a
//! newline, then the body — for messages, the client-ready JSON bytes, so a
//! receiving node frames them once and fans out without re-encoding.
use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A room message: body = the message; `r` = room, `x` = client excluded.
    #[serde(rename = "room")]
    Room,
    /// To every client: body = the message.
    #[serde(rename = "all")]
    All,
    /// To client `c` (on the node the topic names): body = the message.
    #[serde(rename = "dm")]
    Direct,
    /// Close client `c`: body = `{code, reason}`.
    #[serde(rename = "kick")]
    Kick,
    /// A change of the origin's state (`ss` = its state sequence): body = a `Delta`.
    #[serde(rename = "d")]
    Delta,
    /// "I am alive, my state is at `ss`": no body.
    #[serde(rename = "hb")]
    Heartbeat,
    /// The origin's whole state (one part of it): body = a `Snapshot`.
    #[serde(rename = "snap")]
    Snapshot,
    /// "Send me your snapshot."
    #[serde(rename = "sync")]
    Sync,
    /// The origin is leaving the cluster.
    #[serde(rename = "bye")]
    Bye,
    /// To client `c` wherever it is (sent to every node when the origin does
    /// not know it yet): body = the message; `a` = the origin's lookup token.
    #[serde(rename = "find")]
    Find,
    /// The answer to a `Find` (to its origin): `a` = its token, body `1`
    /// when delivered here, `0` when the client is not here.
    #[serde(rename = "found")]
    Found,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    /// Origin node.
    pub n: String,
    /// The origin's incarnation (random per start): a restarted node with the
    /// same id starts its sequence afresh.
    pub i: u64,
    /// Sequence number: a receiver drops what it has seen (echoes, duplicates).
    pub s: u64,
    pub k: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<String>,
    /// State sequence (deltas, heartbeats, snapshots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ss: Option<u64>,
    /// Lookup token (`Find` and its answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a: Option<u64>,
}

impl Header {
    pub fn new(kind: Kind) -> Header {
        Header {
            n: String::new(),
            i: 0,
            s: 0,
            k: kind,
            r: None,
            x: None,
            c: None,
            ss: None,
            a: None,
        }
    }
}

pub fn encode(header: &Header, body: &[u8]) -> Bytes {
    let head = serde_json::to_vec(header).unwrap_or_default();
    let mut out = BytesMut::with_capacity(head.len() + 1 + body.len());
    out.put_slice(&head);
    out.put_u8(b'\n');
    out.put_slice(body);
    out.freeze()
}

/// The header and the body; None for anything malformed (ignored, counted).
pub fn decode(payload: &Bytes) -> Option<(Header, Bytes)> {
    let nl = payload.iter().position(|b| *b == b'\n')?;
    let header: Header = serde_json::from_slice(&payload[..nl]).ok()?;
    Some((header, payload.slice(nl + 1..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_a_body_holding_newlines() {
        let mut h = Header::new(Kind::Room);
        h.n = "n1".into();
        h.s = 7;
        h.r = Some("lobby".into());
        let bytes = encode(&h, b"{\"a\":\"x\\ny\"}\n");
        let (back, body) = decode(&bytes).unwrap();
        assert_eq!(back.k, Kind::Room);
        assert_eq!(back.r.as_deref(), Some("lobby"));
        assert_eq!(back.s, 7);
        assert_eq!(&body[..], b"{\"a\":\"x\\ny\"}\n");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(decode(&Bytes::from_static(b"no newline")).is_none());
        assert!(decode(&Bytes::from_static(b"{\"k\":\"nope\"}\n{}")).is_none());
    }
}
