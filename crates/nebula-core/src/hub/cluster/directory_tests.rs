//! The directory of other nodes: deltas, snapshots, expiry.
use super::*;

fn client(id: &str, q: u64, rooms: &[&str]) -> ClientState {
    ClientState {
        id: id.into(),
        q,
        u: None,
        a: false,
        t: q,
        r: rooms.iter().map(|r| r.to_string()).collect(),
    }
}

#[test]
fn deltas_keep_room_counts() {
    let mut p = Peer::default();
    p.apply(&Delta::Connected(client("a", 1, &[])));
    p.apply(&Delta::Joined {
        id: "a".into(),
        q: 1,
        room: "r".into(),
    });
    p.apply(&Delta::Joined {
        id: "a".into(),
        q: 1,
        room: "r".into(),
    });
    p.apply(&Delta::Connected(client("b", 2, &["r"])));
    assert_eq!(p.room_counts["r"], 2);
    // A stale connection's events change nothing.
    p.apply(&Delta::Left {
        id: "a".into(),
        q: 9,
        room: "r".into(),
    });
    assert_eq!(p.room_counts["r"], 2);
    p.apply(&Delta::Disconnected {
        id: "b".into(),
        q: 2,
    });
    p.apply(&Delta::Left {
        id: "a".into(),
        q: 1,
        room: "r".into(),
    });
    assert!(!p.room_counts.contains_key("r"));
    assert_eq!(p.clients.len(), 1);
}

#[test]
fn a_snapshot_installs_when_every_part_arrived() {
    let mut p = Peer::default();
    p.apply(&Delta::Connected(client("old", 1, &["x"])));
    let part = |i, clients| Snapshot {
        part: i,
        parts: 2,
        clients,
        rooms: vec![],
        started_at: 5,
    };
    assert!(!p.take_part(10, part(1, vec![client("b", 2, &["r"])])));
    assert_eq!(p.ss, None);
    assert!(p.take_part(10, part(0, vec![client("a", 1, &["r"])])));
    assert_eq!(p.ss, Some(10));
    assert_eq!(p.room_counts["r"], 2);
    assert!(!p.clients.contains_key("old"));
}

#[test]
fn early_deltas_wait_for_their_turn() {
    let mut p = Peer::default();
    let conn = |id: &str| Delta::Connected(client(id, 1, &[]));
    // Before any snapshot: held, and a snapshot is needed.
    assert!(p.offer(3, conn("c")));
    let snap = Snapshot {
        part: 0,
        parts: 1,
        clients: vec![client("a", 1, &[])],
        rooms: vec![],
        started_at: 0,
    };
    assert!(p.take_part(1, snap));
    assert_eq!(p.ss, Some(1));
    // 3 waits for 2; then both apply in order.
    assert!(!p.offer(2, conn("b")));
    assert_eq!(p.ss, Some(3));
    assert_eq!(p.clients.len(), 3);
    assert!(!p.offer(
        2,
        Delta::Disconnected {
            id: "b".into(),
            q: 1
        }
    ));
    assert_eq!(p.clients.len(), 3);
}

#[test]
fn a_dropped_room_leaves_no_members_behind() {
    let mut d = Directory::default();
    d.peer("n1", 1)
        .apply(&Delta::Connected(client("a", 1, &["r", "s"])));
    d.drop_room("r");
    assert_eq!(d.room_members("r"), 0);
    assert!(d.member_ids("r").is_empty());
    assert_eq!(d.room_members("s"), 1);
}

#[test]
fn silent_peers_expire_and_restarts_start_afresh() {
    let mut d = Directory::default();
    d.peer("n1", 1)
        .apply(&Delta::Connected(client("a", 1, &["r"])));
    assert_eq!(d.locate("a").unwrap().node, "n1");
    assert_eq!(d.room_members("r"), 1);
    assert!(d.peer("n1", 2).clients.is_empty());
    d.peer("n1", 2).last_seen = Some(Instant::now() - Duration::from_secs(10));
    assert_eq!(d.expire(Duration::from_secs(5)), vec!["n1".to_string()]);
    assert!(d.peers.is_empty());
}

#[test]
fn a_new_peers_first_announcement_is_visible_before_its_snapshot() {
    let mut p = Peer::default();
    let conn = |id: &str, q: u64| Delta::Connected(client(id, q, &[]));
    // No snapshot yet: the announcement counts at once (and a snapshot is asked for).
    assert!(p.offer(1, conn("x", 1)));
    assert!(p.clients.contains_key("x"));
    // An older snapshot (asked for earlier) arrives: the announcement after it stays.
    let snap = |ss_clients: Vec<ClientState>| Snapshot {
        part: 0,
        parts: 1,
        clients: ss_clients,
        rooms: vec![],
        started_at: 0,
    };
    assert!(p.take_part(0, snap(vec![])));
    assert_eq!(p.ss, Some(1));
    assert!(p.clients.contains_key("x"));
    // After a gap too: 3 is visible before 2 arrives, and right once it does.
    assert!(p.offer(3, conn("z", 3)));
    assert!(p.clients.contains_key("z"));
    assert!(p.take_part(1, snap(vec![client("x", 1, &[])])));
    assert!(
        p.clients.contains_key("z"),
        "still visible after the snapshot"
    );
    assert!(!p.offer(
        2,
        Delta::Disconnected {
            id: "x".into(),
            q: 1
        }
    ));
    assert_eq!(p.ss, Some(3));
    assert_eq!(p.clients.keys().collect::<Vec<_>>(), ["z"]);
}
