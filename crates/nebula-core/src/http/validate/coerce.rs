//! Strings from the query, the path and the headers turned into the types
//! their schema declares (`?n=5` → `5` for `{"type": "integer"}`), planned
//! once per schema. Like Ajv's `coerceTypes`: a string stays a string when
//! the schema allows strings (or says nothing about the type); otherwise
//! integer, number, boolean and null are tried in that order; a string none
//! of them takes stays as it is and validation reports it. Only the
//! object's own `properties` are planned (no `$ref`, no `patternProperties`).
use std::collections::HashMap;

use serde_json::{Map, Value};

/// The scalar types a string may become.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scalars {
    pub string: bool,
    pub integer: bool,
    pub number: bool,
    pub boolean: bool,
    pub null: bool,
}

impl Scalars {
    /// Types named by `type` and by the members of `anyOf`/`oneOf`/`allOf`;
    /// `None` when the schema names none (any value goes: keep the string).
    fn of(schema: &Value) -> Option<Scalars> {
        let mut s = Scalars::default();
        s.collect(schema).then_some(s)
    }

    /// True when `schema` (or a member) named a type.
    fn collect(&mut self, schema: &Value) -> bool {
        let mut named = false;
        match schema.get("type") {
            Some(Value::String(t)) => named |= self.add(t),
            Some(Value::Array(list)) => {
                for t in list.iter().filter_map(Value::as_str) {
                    named |= self.add(t);
                }
            }
            _ => {}
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(members)) = schema.get(key) {
                for m in members {
                    named |= self.collect(m);
                }
            }
        }
        if let Some(c) = schema.get("const") {
            named |= self.add_value(c);
        }
        if let Some(Value::Array(list)) = schema.get("enum") {
            for v in list {
                named |= self.add_value(v);
            }
        }
        named
    }

    fn add(&mut self, t: &str) -> bool {
        match t {
            "string" => self.string = true,
            "integer" => self.integer = true,
            "number" => self.number = true,
            "boolean" => self.boolean = true,
            "null" => self.null = true,
            // Arrays and objects: a string never becomes one, but the type is named.
            _ => {}
        }
        true
    }

    fn add_value(&mut self, v: &Value) -> bool {
        match v {
            Value::String(_) => self.string = true,
            Value::Number(n) if n.is_f64() => self.number = true,
            Value::Number(_) => self.integer = true,
            Value::Bool(_) => self.boolean = true,
            Value::Null => self.null = true,
            _ => {}
        }
        true
    }

    /// `text` as the first type that takes it.
    pub fn coerce(&self, text: &str) -> Value {
        if self.string {
            return Value::String(text.to_owned());
        }
        if self.integer || self.number {
            if let Ok(n) = text.parse::<i64>() {
                return Value::from(n);
            }
        }
        if self.number {
            if let Some(n) = text
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .and_then(serde_json::Number::from_f64)
            {
                return Value::Number(n);
            }
        }
        if self.boolean {
            match text {
                "true" => return Value::Bool(true),
                "false" => return Value::Bool(false),
                _ => {}
            }
        }
        if self.null && (text.is_empty() || text == "null") {
            return Value::Null;
        }
        Value::String(text.to_owned())
    }
}

/// How one property's strings become a value.
#[derive(Debug, Clone, PartialEq)]
enum Slot {
    /// One value (a repeated key still gives an array, which validation refuses).
    One(Option<Scalars>),
    /// Every value of the key, each coerced: the schema allows an array.
    Many(Option<Scalars>),
}

/// The plan for an object of strings (the query, the path parameters, the headers).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    slots: HashMap<String, Slot>,
    /// Defaults of the properties that have one, for keys that are absent.
    defaults: Vec<(String, Value)>,
}

impl Plan {
    /// Plans the top-level `properties` of `schema`; names are lowercased when `lowercase` (headers).
    pub fn new(schema: &Value, lowercase: bool) -> Plan {
        let mut plan = Plan::default();
        let Some(Value::Object(props)) = schema.get("properties") else {
            return plan;
        };
        for (name, prop) in props {
            let name = if lowercase {
                name.to_ascii_lowercase()
            } else {
                name.clone()
            };
            let slot = match array_items(prop) {
                Some(items) => Slot::Many(items.and_then(Scalars::of)),
                None => Slot::One(Scalars::of(prop)),
            };
            if let Some(d) = prop.get("default") {
                plan.defaults.push((name.clone(), d.clone()));
            }
            plan.slots.insert(name, slot);
        }
        plan
    }

    /// The object of `pairs`: a planned key becomes its type, an unplanned
    /// one stays a string; a key given more than once becomes an array
    /// (of coerced values), which a non-array schema then refuses.
    pub fn object<'a>(&self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
        // Insertion order kept: the first occurrence of each key decides its place.
        let mut seen: Vec<(&'a str, Vec<Value>)> = Vec::new();
        let mut index: HashMap<&'a str, usize> = HashMap::new();
        for (k, v) in pairs {
            let value = match self.slots.get(k) {
                Some(Slot::One(Some(s)) | Slot::Many(Some(s))) => s.coerce(v),
                _ => Value::String(v.to_owned()),
            };
            match index.get(k) {
                Some(&i) => seen[i].1.push(value),
                None => {
                    index.insert(k, seen.len());
                    seen.push((k, vec![value]));
                }
            }
        }
        let mut out = Map::with_capacity(seen.len() + self.defaults.len());
        for (k, mut values) in seen {
            let many = matches!(self.slots.get(k), Some(Slot::Many(_))) || values.len() > 1;
            let value = match values.pop() {
                Some(v) if !many => v,
                last => {
                    values.extend(last);
                    Value::Array(values)
                }
            };
            out.insert(k.to_owned(), value);
        }
        for (k, d) in &self.defaults {
            if !out.contains_key(k) {
                out.insert(k.clone(), d.clone());
            }
        }
        Value::Object(out)
    }
}

/// `Some(items)` when `schema` allows an array (`type` array or one of its
/// types; also inside `anyOf`/`oneOf`): the items' schema, if given.
fn array_items(schema: &Value) -> Option<Option<&Value>> {
    let is_array = match schema.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(list)) => list.iter().any(|t| t == "array"),
        _ => false,
    };
    if is_array {
        return Some(schema.get("items").filter(|i| i.is_object()));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(members)) = schema.get(key) {
            if let Some(found) = members.iter().find_map(array_items) {
                return Some(found);
            }
        }
    }
    None
}
