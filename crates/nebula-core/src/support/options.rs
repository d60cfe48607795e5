//! Readers for JSON options, shared by plugins, hub, script VM, gateway and
//! leases: the same rules and the same error text everywhere.
use super::error::OptionError;

/// Option `name` of a plugin's JSON options: absent (None), or an integer in
/// `min..=max`. JavaScript numbers may arrive as floats: whole ones are accepted.
pub fn int_option(
    options: &serde_json::Value,
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, OptionError> {
    int_value(options.get(name), min, max).map_err(|got| OptionError {
        name: name.to_owned(),
        min,
        max,
        got,
    })
}

/// An option's value: absent/null, or a whole number in `min..=max`
/// (JavaScript numbers may arrive as whole floats); else the value as given.
pub fn int_value(
    value: Option<&serde_json::Value>,
    min: u64,
    max: u64,
) -> Result<Option<u64>, String> {
    let value = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= min as f64 && *f <= max as f64)
            .map(|f| f as u64)
    });
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
        _ => Err(value.to_string()),
    }
}
