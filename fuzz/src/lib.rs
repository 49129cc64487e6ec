//! What the fuzz targets share: reading as the parsers' callers do, and the round trip every
//! body that reads must pass.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads `data` as a `T`; what reads must write and read back to itself. Only a
/// `Transfer::Other` (an LFS adapter the reader does not know) may fail to write.
pub fn read_and_round_trip<T>(data: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let parsed: T = serde_json::from_slice(data).ok()?;
    if let Ok(text) = serde_json::to_string(&parsed) {
        let again: T = serde_json::from_str(&text).expect("what was written reads back");
        assert_eq!(again, parsed, "{text}");
    }
    Some(parsed)
}
