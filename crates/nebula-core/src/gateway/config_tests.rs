use super::*;
use serde_json::json;

fn err(v: Value) -> String {
    parse_services(&v).unwrap_err().to_string()
}

#[test]
fn a_full_spec_is_read() {
    let specs = parse_services(&json!([{
        "name": "api", "command": ["php", "worker.php"], "cwd": "./php",
        "env": {"APP_ENV": "prod"}, "instances": 3,
        "socket": {"tcp": "127.0.0.1:9000"}, "healthPath": "/health",
        "readyTimeoutMs": 2500, "graceMs": 0,
        "backoff": {"initialMs": 50, "maxMs": 800},
        "crashLoop": {"maxRestarts": 2, "windowMs": 1000}
    }]))
    .unwrap();
    let s = &specs[0];
    assert_eq!(s.name, "api");
    assert_eq!(s.command, ["php", "worker.php"]);
    assert_eq!(s.cwd, Some(PathBuf::from("./php")));
    assert_eq!(s.env, [("APP_ENV".to_string(), "prod".to_string())]);
    assert_eq!(s.instances, 3);
    assert_eq!(
        s.socket,
        SocketSpec::Tcp {
            host: "127.0.0.1".into(),
            port: 9000
        }
    );
    assert_eq!(s.health_path.as_deref(), Some("/health"));
    assert_eq!(s.ready_timeout, Duration::from_millis(2500));
    assert_eq!(s.grace, Duration::ZERO);
    assert_eq!(s.backoff.initial, Duration::from_millis(50));
    assert_eq!(s.backoff.max, Duration::from_millis(800));
    assert_eq!(s.crash_loop.max_restarts, 2);
    assert_eq!(s.crash_loop.window, Duration::from_secs(1));
}

#[test]
fn defaults_apply() {
    let specs = parse_services(&json!([{"name": "py", "command": ["python3", "w.py"]}])).unwrap();
    assert_eq!(
        specs[0],
        ServiceSpec::new("py", vec!["python3".into(), "w.py".into()])
    );
    let s = parse_services(
        &json!([{"name": "a", "command": ["x"], "socket": {"path": "/run/a.sock"}}]),
    )
    .unwrap();
    assert_eq!(s[0].socket, SocketSpec::Path("/run/a.sock".into()));
    // The short forms: a path, or tcp://host:port.
    let s = parse_services(&json!([
        {"name": "a", "command": ["x"], "socket": "/run/a.sock"},
        {"name": "b", "command": ["x"], "socket": "tcp://127.0.0.1:9000"}
    ]))
    .unwrap();
    assert_eq!(s[0].socket, SocketSpec::Path("/run/a.sock".into()));
    assert_eq!(
        s[1].socket,
        SocketSpec::Tcp {
            host: "127.0.0.1".into(),
            port: 9000
        }
    );
    let s =
        parse_services(&json!([{"name": "a", "command": ["x"], "socket": {"tcp": "[::1]:80"}}]))
            .unwrap();
    assert_eq!(
        s[0].socket,
        SocketSpec::Tcp {
            host: "::1".into(),
            port: 80
        }
    );
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (json!({}), "services: must be an array"),
        (json!([1]), "services[0]: must be an object"),
        (json!([{"command": ["x"]}]), "services[0].name: must be"),
        (
            json!([{"name": "../x", "command": ["x"]}]),
            "services[0].name: must be",
        ),
        (
            json!([{"name": "a", "command": []}]),
            "services[0].command: must be a non-empty array of strings",
        ),
        (
            json!([{"name": "a", "command": ["x", 1]}]),
            "services[0].command: must be a non-empty array of strings",
        ),
        (
            json!([{"name": "a", "command": [""]}]),
            "services[0].command: must be",
        ),
        (
            json!([{"name": "a", "command": ["x"], "instances": 0}]),
            "services[0].instances: must be an integer from 1 to 1024, got 0",
        ),
        (
            json!([{"name": "a", "command": ["x"], "env": {"A": 1}}]),
            "services[0].env.A: must be a string",
        ),
        (
            json!([{"name": "a", "command": ["x"], "env": {"NEBULA_SOCKET": "/x"}}]),
            "services[0].env.NEBULA_SOCKET: set by the engine",
        ),
        (
            json!([{"name": "a", "command": ["x"], "socket": 7}]),
            "services[0].socket: must be \"auto\"",
        ),
        (
            json!([{"name": "a", "command": ["x"], "socket": "tcp://localhost"}]),
            "services[0].socket.tcp: must be host:port",
        ),
        (
            json!([{"name": "a", "command": ["x"], "socket": {"tcp": "h:0"}}]),
            "services[0].socket.tcp: port must be 1 to 65535",
        ),
        (
            json!([{"name": "a", "command": ["x"], "instances": 2, "socket": {"tcp": "h:65534"}}]),
            "services[0].socket: ports 65534..65534+3",
        ),
        (
            json!([{"name": "a", "command": ["x"], "healthPath": "health"}]),
            "services[0].healthPath: must be a path",
        ),
        (
            json!([{"name": "a", "command": ["x"], "healthPath": "/a b"}]),
            "services[0].healthPath: must be a path",
        ),
        (
            json!([{"name": "a", "command": ["x"], "readyTimeoutMs": 1.5}]),
            "services[0].readyTimeoutMs: must be an integer",
        ),
        (
            json!([{"name": "a", "command": ["x"], "backoff": {"initialMs": 500, "maxMs": 100}}]),
            "services[0].backoff.maxMs: must not be less than initialMs",
        ),
        (
            json!([{"name": "a", "command": ["x"], "crashLoop": {"max": 1}}]),
            "services[0].crashLoop.max: unknown option",
        ),
        (
            json!([{"name": "a", "command": ["x"], "restart": true}]),
            "services[0].restart: unknown option",
        ),
        (
            json!([{"name": "a", "command": ["x"]}, {"name": "a", "command": ["y"]}]),
            "services[1].name: \"a\" is already the name of services[0]",
        ),
    ];
    for (value, want) in cases {
        let got = err(value.clone());
        assert!(got.starts_with(want), "{value}: got {got:?}, want {want:?}");
    }
}
