//! A card's YAML front matter, and the budget that bounds what it builds.

#![no_main]

use hubmix_protocol::card::{
    self, MAX_FRONT_MATTER_ALIAS_BYTES, MAX_FRONT_MATTER_DEPTH, MAX_FRONT_MATTER_NODES,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Nodes as the budget counts them: every scalar, key and collection is one.
fn nodes(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(nodes).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(|v| 1 + nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Bytes of text, keys included.
fn text_bytes(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(text_bytes).sum(),
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + text_bytes(v)).sum(),
        Value::Number(n) => n.to_string().len(),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = card::split_front_matter(s);
    match card::card_data(s) {
        Ok(Some(data)) => {
            let data = Value::Object(data);
            assert!(nodes(&data) <= MAX_FRONT_MATTER_NODES + 1);
            assert!(depth(&data) <= MAX_FRONT_MATTER_DEPTH);
            assert!(text_bytes(&data) <= 2 * s.len() + MAX_FRONT_MATTER_ALIAS_BYTES);
            let _ = card::tags(data.as_object().expect("an object"));
        }
        Ok(None) => {}
        Err(errors) => assert!(!errors.is_empty()),
    }
});
