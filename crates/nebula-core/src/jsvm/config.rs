//! `JsvmPlugin` options, read from JSON and checked once (errors name the option).
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::JsvmConfigError;
use crate::support::options::int_option;

/// The file-name matcher for hook files: a small subset of regular
/// expressions, enough for the documented default `^.*\.pb\.js$`.
///
/// Accepted: `^.*SUFFIX$` and `^.*(S1|S2|…)$` where the suffixes are literal
/// text with `\.` for a dot, or a glob `*SUFFIX`. Anything else is refused
/// with an error naming the option, never silently matched differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePattern {
    source: String,
    suffixes: Vec<String>,
}

impl FilePattern {
    pub fn parse(source: &str) -> Result<FilePattern, JsvmConfigError> {
        let bad = || JsvmConfigError::Pattern(source.to_owned());
        let body = if let Some(rest) = source.strip_prefix("^.*") {
            rest.strip_suffix('$').ok_or_else(bad)?
        } else if let Some(rest) = source.strip_prefix('*') {
            return literal_glob(rest)
                .map(|s| FilePattern {
                    source: source.into(),
                    suffixes: vec![s],
                })
                .ok_or_else(bad);
        } else {
            return Err(bad());
        };
        let alternatives: Vec<&str> = match body.strip_prefix('(') {
            Some(inner) => inner
                .strip_suffix(')')
                .ok_or_else(bad)?
                .split('|')
                .collect(),
            None => vec![body],
        };
        let mut suffixes = Vec::new();
        for alt in alternatives {
            suffixes.push(unescape(alt).ok_or_else(bad)?);
        }
        Ok(FilePattern {
            source: source.into(),
            suffixes,
        })
    }

    /// Whether a file name (not a path) matches.
    pub fn matches(&self, name: &str) -> bool {
        self.suffixes.iter().any(|s| name.ends_with(s.as_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// `\.` → `.`; any other regex metacharacter is refused.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if !e.is_alphanumeric() => out.push(e),
                _ => return None,
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                return None
            }
            c => out.push(c),
        }
    }
    (!out.is_empty()).then_some(out)
}

fn literal_glob(s: &str) -> Option<String> {
    let bad = |c: char| matches!(c, '*' | '?' | '[' | ']' | '/');
    (!s.is_empty() && !s.chars().any(bad)).then(|| s.to_string())
}

/// The script VM's settings.
#[derive(Debug, Clone)]
pub struct JsvmConfig {
    /// Folder with the hook files (loaded in name order) and what they `require()`.
    pub hooks_dir: PathBuf,
    /// Folder with plugin files (`*.js`), if any.
    pub plugins_dir: Option<PathBuf>,
    /// Which files in `hooks_dir` are hook files (default `^.*\.pb\.js$`).
    pub pattern: FilePattern,
    /// Reload when a file changes.
    pub watch: bool,
    /// Runtimes (one OS thread each); default: the number of cores.
    pub pool_size: usize,
    /// Deadline of one execution (default 1 s).
    pub timeout: Duration,
    /// Memory limit per runtime (default 64 MB).
    pub memory_limit_mb: usize,
    /// JS stack limit per runtime (default 1024 KiB; the thread gets 4× plus 1 MiB).
    pub stack_kb: usize,
    /// Tasks waiting for a runtime before `busy` (default 1024).
    pub queue_limit: usize,
    /// How long a task may wait for a runtime (default 5 s).
    pub queue_timeout: Duration,
    /// Executions one runtime holds at once while they `await` (default 16).
    pub max_async_per_runtime: usize,
    /// Debounce of the file watcher (default 100 ms).
    pub watch_debounce: Duration,
}

impl JsvmConfig {
    /// Defaults for a hooks folder.
    pub fn new(hooks_dir: impl Into<PathBuf>) -> JsvmConfig {
        JsvmConfig {
            hooks_dir: hooks_dir.into(),
            plugins_dir: None,
            pattern: FilePattern {
                source: r"^.*\.pb\.js$".into(),
                suffixes: vec![".pb.js".into()],
            },
            watch: false,
            pool_size: std::thread::available_parallelism().map_or(2, |n| n.get()),
            timeout: Duration::from_secs(1),
            memory_limit_mb: 64,
            stack_kb: 1024,
            queue_limit: 1024,
            queue_timeout: Duration::from_secs(5),
            max_async_per_runtime: 16,
            watch_debounce: Duration::from_millis(100),
        }
    }

    /// Reads the options (camelCase). Unknown keys are refused.
    pub fn from_json(options: &Value) -> Result<JsvmConfig, JsvmConfigError> {
        let empty = Map::new();
        let obj = match options {
            Value::Object(o) => o,
            Value::Null => &empty,
            _ => return Err("jsvm: options must be an object".into()),
        };
        for k in obj.keys() {
            if !KNOWN.contains(&k.as_str()) {
                return Err(JsvmConfigError::Invalid(format!(
                    "jsvm: unknown option {k:?}"
                )));
            }
        }
        let hooks_dir = match obj.get("hooksDir") {
            Some(Value::String(s)) if !s.is_empty() => PathBuf::from(s),
            None | Some(Value::Null) => PathBuf::from("./hooks"),
            Some(_) => return Err("jsvm: hooksDir must be a non-empty string".into()),
        };
        let mut c = JsvmConfig::new(hooks_dir);
        c.plugins_dir = match obj.get("pluginsDir") {
            Some(Value::String(s)) if !s.is_empty() => Some(PathBuf::from(s)),
            None | Some(Value::Null) => None,
            Some(_) => return Err("jsvm: pluginsDir must be a non-empty string".into()),
        };
        if let Some(p) = obj.get("pattern").filter(|v| !v.is_null()) {
            let s = p.as_str().ok_or("jsvm: pattern must be a string")?;
            c.pattern = FilePattern::parse(s)?;
        }
        c.watch = match obj.get("watch") {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) => false,
            Some(_) => return Err("jsvm: watch must be a boolean".into()),
        };
        let whole = Value::Object(obj.clone());
        let int = |name: &str, min: u64, max: u64| {
            int_option(&whole, name, min, max).map_err(JsvmConfigError::Option)
        };
        if let Some(n) = int("poolSize", 1, 256)? {
            c.pool_size = n as usize;
        }
        if let Some(n) = int("timeoutMs", 1, 600_000)? {
            c.timeout = Duration::from_millis(n);
        }
        if let Some(n) = int("memoryLimitMb", 8, 16_384)? {
            c.memory_limit_mb = n as usize;
        }
        if let Some(n) = int("stackKb", 64, 16_384)? {
            c.stack_kb = n as usize;
        }
        if let Some(n) = int("queueLimit", 1, 1_000_000)? {
            c.queue_limit = n as usize;
        }
        if let Some(n) = int("queueTimeoutMs", 1, 600_000)? {
            c.queue_timeout = Duration::from_millis(n);
        }
        if let Some(n) = int("maxAsyncPerRuntime", 1, 10_000)? {
            c.max_async_per_runtime = n as usize;
        }
        Ok(c)
    }

    pub(crate) fn memory_limit_bytes(&self) -> usize {
        self.memory_limit_mb << 20
    }
}

const KNOWN: [&str; 11] = [
    "hooksDir",
    "pluginsDir",
    "pattern",
    "watch",
    "poolSize",
    "timeoutMs",
    "memoryLimitMb",
    "stackKb",
    "queueLimit",
    "queueTimeoutMs",
    "maxAsyncPerRuntime",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_are_read_and_defaults_apply() {
        let c = JsvmConfig::from_json(&json!({
            "hooksDir": "/h", "pluginsDir": "/p", "watch": true, "poolSize": 3,
            "timeoutMs": 250, "memoryLimitMb": 32, "queueLimit": 7, "queueTimeoutMs": 900
        }))
        .expect("valid options");
        assert_eq!(c.hooks_dir, PathBuf::from("/h"));
        assert_eq!(c.plugins_dir, Some(PathBuf::from("/p")));
        assert!(c.watch);
        assert_eq!(c.pool_size, 3);
        assert_eq!(c.timeout, Duration::from_millis(250));
        assert_eq!(c.memory_limit_mb, 32);
        assert_eq!(c.queue_limit, 7);
        assert_eq!(c.queue_timeout, Duration::from_millis(900));
        assert_eq!(c.max_async_per_runtime, 16);
        assert!(c.pattern.matches("a.pb.js") && !c.pattern.matches("a.js"));
    }

    #[test]
    fn bad_options_name_the_option() {
        let e = JsvmConfig::from_json(&json!({"poolSiz": 1}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("poolSiz"), "{e}");
        let e = JsvmConfig::from_json(&json!({"timeoutMs": 0}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("timeoutMs"), "{e}");
        let e = JsvmConfig::from_json(&json!({"pattern": "a+b"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pattern"), "{e}");
        let e = JsvmConfig::from_json(&json!({"watch": 1}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("watch"), "{e}");
    }

    #[test]
    fn patterns() {
        let p = FilePattern::parse(r"^.*(\.pb\.js|\.hook\.js)$").expect("alternation");
        assert!(p.matches("x.pb.js") && p.matches("y.hook.js") && !p.matches("z.js"));
        let g = FilePattern::parse("*.hooks.js").expect("glob");
        assert!(g.matches("a.hooks.js") && !g.matches("a.pb.js"));
        assert!(FilePattern::parse(r"^.*\.p[bc]\.js$").is_err());
        assert!(
            FilePattern::parse(r"^.*.pb.js$").is_err(),
            "unescaped dot is refused"
        );
    }
}
