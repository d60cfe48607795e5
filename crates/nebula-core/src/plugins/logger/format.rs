//! The access-log line: one JSON object, or a short human-readable line.
use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What one access-log line says about one request.
pub struct AccessRecord<'a> {
    pub time: SystemTime,
    pub method: &'a str,
    pub path: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub duration: Duration,
    pub bytes: usize,
    pub request_id: &'a str,
    pub peer: Option<IpAddr>,
}

impl AccessRecord<'_> {
    /// Milliseconds, with a fractional part.
    pub fn duration_ms(&self) -> f64 {
        self.duration.as_secs_f64() * 1000.0
    }

    /// `{"time","level":"info","msg":"request","method","path","route",
    /// "status","duration_ms","bytes","request_id","peer"}` (peer: null for
    /// in-process requests).
    pub fn json(&self) -> String {
        let mut out = String::with_capacity(192 + self.path.len() + self.route.len());
        out.push_str("{\"time\":\"");
        rfc3339_millis(self.time, &mut out);
        out.push_str("\",\"level\":\"info\",\"msg\":\"request\",\"method\":");
        json_str(self.method, &mut out);
        out.push_str(",\"path\":");
        json_str(self.path, &mut out);
        out.push_str(",\"route\":");
        json_str(self.route, &mut out);
        let _ = write!(
            out,
            ",\"status\":{},\"duration_ms\":{:.3},\"bytes\":{},\"request_id\":",
            self.status,
            self.duration_ms(),
            self.bytes
        );
        json_str(self.request_id, &mut out);
        out.push_str(",\"peer\":");
        match self.peer {
            Some(ip) => {
                let _ = write!(out, "\"{ip}\"");
            }
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }

    /// `METHOD path status 1.23ms 512B request-id`.
    pub fn pretty(&self) -> String {
        let mut out = String::with_capacity(64 + self.path.len() + self.request_id.len());
        let _ = write!(
            out,
            "{} {} {} {:.2}ms {}B {}",
            self.method,
            self.path,
            self.status,
            self.duration_ms(),
            self.bytes,
            self.request_id
        );
        out
    }
}

/// Appends `s` as a JSON string literal.
fn json_str(s: &str, out: &mut String) {
    crate::support::json_text::push_str_literal(out, s);
}

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
fn rfc3339_millis(t: SystemTime, out: &mut String) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    );
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(peer: Option<IpAddr>) -> AccessRecord<'static> {
        AccessRecord {
            time: UNIX_EPOCH + Duration::from_millis(1_714_566_896_789),
            method: "GET",
            path: "/api/users/42",
            route: "/api/users/:id",
            status: 200,
            duration: Duration::from_micros(1234),
            bytes: 512,
            request_id: "abc-1",
            peer,
        }
    }

    #[test]
    fn json_line_has_every_field() {
        let line = record(Some("127.0.0.1".parse().unwrap())).json();
        assert_eq!(
            line,
            r#"{"time":"2024-05-01T12:34:56.789Z","level":"info","msg":"request","method":"GET","path":"/api/users/42","route":"/api/users/:id","status":200,"duration_ms":1.234,"bytes":512,"request_id":"abc-1","peer":"127.0.0.1"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["status"], 200);
    }

    #[test]
    fn json_peer_is_null_in_process_and_ipv6_is_quoted() {
        let v: serde_json::Value = serde_json::from_str(&record(None).json()).unwrap();
        assert!(v["peer"].is_null());
        let v: serde_json::Value =
            serde_json::from_str(&record(Some("::1".parse().unwrap())).json()).unwrap();
        assert_eq!(v["peer"], "::1");
    }

    #[test]
    fn json_escapes_quotes_backslashes_and_controls() {
        let mut r = record(None);
        r.request_id = "a\"b\\c";
        r.path = "/x\u{1}\ny";
        let v: serde_json::Value = serde_json::from_str(&r.json()).unwrap();
        assert_eq!(v["request_id"], "a\"b\\c");
        assert_eq!(v["path"], "/x\u{1}\ny");
    }

    #[test]
    fn pretty_line() {
        assert_eq!(
            record(None).pretty(),
            "GET /api/users/42 200 1.23ms 512B abc-1"
        );
    }

    #[test]
    fn dates_across_eras_and_leap_days() {
        let mut s = String::new();
        rfc3339_millis(UNIX_EPOCH, &mut s);
        assert_eq!(s, "1970-01-01T00:00:00.000Z");
        s.clear();
        // 2000-02-29T23:59:59.999Z
        rfc3339_millis(UNIX_EPOCH + Duration::from_millis(951_868_799_999), &mut s);
        assert_eq!(s, "2000-02-29T23:59:59.999Z");
        s.clear();
        // 2100-03-01T00:00:00Z (2100 is not a leap year)
        rfc3339_millis(UNIX_EPOCH + Duration::from_secs(4_107_542_400), &mut s);
        assert_eq!(s, "2100-03-01T00:00:00.000Z");
    }
}
