//! Deserialisation details of the scenario format.
//!
//! Job: a strict `serde` deserializer over a [`serde_json::Value`]
//! ([`StrictValue`]: a struct must be written as a mapping, never as a
//! positional list), and the hand-written `Deserialize` impls that derive
//! cannot express: [`Check`] (whose fields are shared with
//! [`BodyAssertion`], where `#[serde(flatten)]` and `deny_unknown_fields`
//! do not combine) and [`Capture`] (a string or `{header: name}`).
//!
//! It must not: know about files, locations or diagnostics (the loader
//! maps the errors), or accept keys the model does not name.

use std::fmt;

use serde::Deserialize;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess, Unexpected, VariantAccess,
    Visitor,
};
use serde_json::Value;

use super::model::{BodyAssertion, Capture, Check, ExpectAt, StatusExpect};

// ---------------------------------------------------------------------------
// Strict deserializer over a borrowed `Value`.
// ---------------------------------------------------------------------------

/// A `serde` deserializer over a borrowed [`Value`] that refuses to build a
/// struct from a sequence (serde's derive accepts `[a, b]` positionally;
/// the scenario format does not).
#[derive(Clone, Copy)]
pub struct StrictValue<'a>(pub &'a Value);

type Error = serde_json::Error;

fn unexpected(v: &Value) -> Unexpected<'_> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Unexpected::Signed(i)
            } else {
                Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl<'de, 'a> Deserializer<'de> for StrictValue<'a> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(Seq { iter: items.iter() }),
            Value::Object(map) => visitor.visit_map(Entries {
                iter: map.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Object(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(_) => self.deserialize_any(visitor),
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(UnitVariant(s)),
            other => Err(de::Error::invalid_type(unexpected(other), &"a string")),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct identifier
    }
}

struct Seq<'a> {
    iter: std::slice::Iter<'a, Value>,
}

impl<'de, 'a> SeqAccess<'de> for Seq<'a> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(v) => seed.deserialize(StrictValue(v)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Entries<'a> {
    iter: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'de, 'a> MapAccess<'de> for Entries<'a> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((k, v)) => {
                self.value = Some(v);
                let key: de::value::StrDeserializer<'_, Error> = k.as_str().into_deserializer();
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(v) => seed.deserialize(StrictValue(v)),
            None => Err(de::Error::custom("value requested before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct UnitVariant<'a>(&'a str);

impl<'de, 'a> EnumAccess<'de> for UnitVariant<'a> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let key: de::value::StrDeserializer<'_, Error> = self.0.into_deserializer();
        seed.deserialize(key).map(|v| (v, self))
    }
}

impl<'de, 'a> VariantAccess<'de> for UnitVariant<'a> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"a newtype variant"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"a tuple variant"))
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], _visitor: V) -> Result<V::Value, Error> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"a struct variant"))
    }
}

// ---------------------------------------------------------------------------
// Check and BodyAssertion.
// ---------------------------------------------------------------------------

/// The keys of a [`Check`], as written in YAML.
pub const CHECK_FIELDS: &[&str] = &[
    "equals",
    "type",
    "cents",
    "uuid",
    "regex",
    "exists",
    "absent",
    "length",
    "min_length",
    "min",
    "max",
    "contains",
    "one_of",
    "not",
];

/// The keys of a [`BodyAssertion`]: `path`, `allow_empty` and those of a [`Check`].
pub const BODY_ASSERTION_FIELDS: &[&str] = &[
    "path",
    "allow_empty",
    "equals",
    "type",
    "cents",
    "uuid",
    "regex",
    "exists",
    "absent",
    "length",
    "min_length",
    "min",
    "max",
    "contains",
    "one_of",
    "not",
];

/// Reads the value of one `Check` key into `check`; `Ok(false)` when the
/// key is not a check key (the value is then left unread).
fn check_field<'de, A: MapAccess<'de>>(check: &mut Check, key: &str, map: &mut A) -> Result<bool, A::Error> {
    match key {
        // `equals: null` means "equals null", so a present value is always `Some`.
        "equals" => check.equals = Some(map.next_value::<Value>()?),
        "contains" => check.contains = Some(map.next_value::<Value>()?),
        "type" => check.type_ = map.next_value()?,
        "cents" => check.cents = map.next_value()?,
        "uuid" => check.uuid = map.next_value()?,
        "regex" => check.regex = map.next_value()?,
        "exists" => check.exists = map.next_value()?,
        "absent" => check.absent = map.next_value()?,
        "length" => check.length = map.next_value()?,
        "min_length" => check.min_length = map.next_value()?,
        "min" => check.min = map.next_value()?,
        "max" => check.max = map.next_value()?,
        "one_of" => check.one_of = map.next_value()?,
        "not" => check.not = map.next_value()?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Reads a mapping key and refuses keys not in `allowed` right there, as
/// derived structs do (so the error's recorded path ends with the key).
struct KeySeed(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if self.0.contains(&v) {
            Ok(v.to_string())
        } else {
            Err(E::unknown_field(v, self.0))
        }
    }
}

struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = Check;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Check")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Check, A::Error> {
        let mut check = Check::default();
        while let Some(key) = map.next_key_seed(KeySeed(CHECK_FIELDS))? {
            if !check_field(&mut check, &key, &mut map)? {
                return Err(de::Error::unknown_field(&key, CHECK_FIELDS));
            }
        }
        Ok(check)
    }
}

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("Check", CHECK_FIELDS, CheckVisitor)
    }
}

struct BodyAssertionVisitor;

impl<'de> Visitor<'de> for BodyAssertionVisitor {
    type Value = BodyAssertion;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct BodyAssertion")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BodyAssertion, A::Error> {
        let mut path: Option<String> = None;
        let mut allow_empty = false;
        let mut check = Check::default();
        while let Some(key) = map.next_key_seed(KeySeed(BODY_ASSERTION_FIELDS))? {
            if key == "path" {
                path = Some(map.next_value()?);
            } else if key == "allow_empty" {
                allow_empty = map.next_value()?;
            } else if !check_field(&mut check, &key, &mut map)? {
                return Err(de::Error::unknown_field(&key, BODY_ASSERTION_FIELDS));
            }
        }
        let path = path.ok_or_else(|| de::Error::missing_field("path"))?;
        Ok(BodyAssertion {
            path,
            check,
            allow_empty,
        })
    }
}

impl<'de> Deserialize<'de> for BodyAssertion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("BodyAssertion", BODY_ASSERTION_FIELDS, BodyAssertionVisitor)
    }
}

// ---------------------------------------------------------------------------
// Capture.
// ---------------------------------------------------------------------------

const CAPTURE_FIELDS: &[&str] = &["header"];

struct CaptureVisitor;

impl<'de> Visitor<'de> for CaptureVisitor {
    type Value = Capture;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a JSON pointer or JSONPath string, a list of them (the first that holds a value), or {header: name}",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capture, A::Error> {
        let mut paths = Vec::new();
        while let Some(p) = seq.next_element::<String>()? {
            paths.push(p);
        }
        if paths.is_empty() {
            return Err(de::Error::invalid_length(0, &"at least one path"));
        }
        Ok(Capture::AnyOf(paths))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Capture, E> {
        Ok(Capture::Body(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Capture, E> {
        Ok(Capture::Body(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Capture, A::Error> {
        let mut header: Option<String> = None;
        while let Some(key) = map.next_key_seed(KeySeed(CAPTURE_FIELDS))? {
            match key.as_str() {
                "header" => header = Some(map.next_value()?),
                _ => return Err(de::Error::unknown_field(&key, CAPTURE_FIELDS)),
            }
        }
        let header = header.ok_or_else(|| de::Error::missing_field("header"))?;
        Ok(Capture::Header { header })
    }
}

impl<'de> Deserialize<'de> for Capture {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CaptureVisitor)
    }
}

// ---------------------------------------------------------------------------
// Statuses and request numbers.
// ---------------------------------------------------------------------------

struct StatusVisitor;

impl Visitor<'_> for StatusVisitor {
    type Value = StatusExpect;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an HTTP status (100 to 599) or a family such as `4xx`")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StatusExpect, E> {
        if (100..=599).contains(&v) {
            Ok(StatusExpect::Code(v as u16))
        } else {
            Err(E::invalid_value(Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StatusExpect, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StatusExpect, E> {
        let b = v.as_bytes();
        if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && b[1..].eq_ignore_ascii_case(b"xx") {
            return Ok(StatusExpect::Family(u16::from(b[0] - b'0')));
        }
        Err(E::invalid_value(Unexpected::Str(v), &self))
    }
}

impl<'de> Deserialize<'de> for StatusExpect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusVisitor)
    }
}

impl serde::Serialize for StatusExpect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            StatusExpect::Code(c) => s.serialize_u16(*c),
            StatusExpect::Family(_) => s.serialize_str(&self.to_string()),
        }
    }
}

struct ExpectAtVisitor;

impl<'de> Visitor<'de> for ExpectAtVisitor {
    type Value = ExpectAt;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a request number, or `[first, last]`")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExpectAt, E> {
        u32::try_from(v)
            .ok()
            .filter(|n| *n >= 1)
            .map(ExpectAt::Exactly)
            .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExpectAt, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ExpectAt, A::Error> {
        let lo: u32 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let hi: u32 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<u32>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        if lo < 1 || hi < lo {
            return Err(de::Error::custom(format!(
                "`[{lo}, {hi}]` is not a range of request numbers (1 ≤ first ≤ last)"
            )));
        }
        Ok(ExpectAt::Between(lo, hi))
    }
}

impl<'de> Deserialize<'de> for ExpectAt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ExpectAtVisitor)
    }
}

impl serde::Serialize for ExpectAt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ExpectAt::Exactly(k) => s.serialize_u32(*k),
            ExpectAt::Between(lo, hi) => [*lo, *hi].serialize(s),
        }
    }
}

// ---------------------------------------------------------------------------
// Small field helpers used from `model.rs`.
// ---------------------------------------------------------------------------

/// `deserialize_with` for an `Option<Value>` where a written `null` is a
/// value (`Some(Null)`), not an absence.
pub fn present_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A one-or-many visitor: `x` or `[x, y]`, always a list. Scalars and
/// mappings are handed to `T` so that its own error message is kept
/// (`expected u16, found string "200"` rather than "did not match any
/// variant").
pub(crate) struct OneOrManyVisitor<T>(pub std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("one value or a list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(x) = seq.next_element::<T>()? {
            out.push(x);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|x| vec![x])
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<T>, E> {
        T::deserialize(v.into_deserializer()).map(|x| vec![x])
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<T>, E> {
        T::deserialize(v.into_deserializer()).map(|x| vec![x])
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<T>, E> {
        T::deserialize(v.into_deserializer()).map(|x| vec![x])
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<T>, E> {
        T::deserialize(v.into_deserializer()).map(|x| vec![x])
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
        T::deserialize(de::value::StrDeserializer::<E>::new(v)).map(|x| vec![x])
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        T::deserialize(de::value::UnitDeserializer::<E>::new()).map(|x| vec![x])
    }
}
