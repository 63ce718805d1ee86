//! `${VAR}` expansion from the environment, so secrets can stay out of the
//! file. It applies to string values after YAML parsing — never to
//! comments or keys — so an expanded value cannot change the document's
//! structure (a `#`, `: ` or leading `*` in a password stays part of the
//! password) and error positions stay those of the file as written.
//! Values of other types (numbers, booleans) are not expanded.
//!
//! Only the braced form is expanded and only for names that can be
//! environment variables (`[A-Za-z_][A-Za-z0-9_]*`): `$1`, `${1}` and a bare
//! `$` stay as written, because relabel replacements use them for regex
//! groups and a pasted `prometheus.yml` must keep working. `$$` is a literal
//! `$` (write `$${name}` for a named regex group in a replacement).

use std::cell::RefCell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// A `${VAR}` whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVariable {
    pub name: String,
    /// 1-based line and column of the `$`.
    pub line: usize,
    pub column: usize,
}

pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, UnsetVariable> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0usize;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            consumed += pos + 2;
            rest = tail;
            continue;
        }
        if let Some(name) = braced_name(after) {
            let Some(value) = lookup(name) else {
                let (line, column) = line_column(text, consumed + pos);
                return Err(UnsetVariable {
                    name: name.to_string(),
                    line,
                    column,
                });
            };
            out.push_str(&value);
            let skip = pos + 1 + name.len() + 2;
            consumed += skip;
            rest = &rest[skip..];
            continue;
        }
        out.push('$');
        consumed += pos + 1;
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// The name in `{NAME}` at the start of `s`, when NAME is an env-var name.
fn braced_name(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let mut bytes = name.bytes();
    let first = bytes.next()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    bytes
        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        .then_some(name)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// What expansion needs while a document is deserialized: the variable
/// lookup, and the first variable found unset (to report it by name).
pub struct Expander<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: RefCell<Option<String>>,
}

impl<'a> Expander<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Expander {
            lookup,
            unset: RefCell::new(None),
        }
    }

    /// The first unset variable a value referred to, if any.
    pub fn unset_variable(&self) -> Option<String> {
        self.unset.borrow().clone()
    }

    /// `value` expanded, or `None` when it has nothing to expand.
    fn value<E: de::Error>(&self, value: &str) -> Result<Option<String>, E> {
        if !value.contains('$') {
            return Ok(None);
        }
        match expand(value, self.lookup) {
            Ok(expanded) => Ok(Some(expanded)),
            Err(u) => {
                let message = format!(
                    "environment variable {} is not set (referenced as ${{{}}}; write $${{{}}} for a literal)",
                    u.name, u.name, u.name
                );
                self.unset.borrow_mut().get_or_insert(u.name);
                Err(E::custom(message))
            }
        }
    }
}

/// A deserializer whose string values are expanded; map keys pass
/// through unchanged.
pub struct Expand<'x, 'a, D> {
    de: D,
    x: &'x Expander<'a>,
}

impl<'x, 'a, D> Expand<'x, 'a, D> {
    pub fn new(de: D, x: &'x Expander<'a>) -> Self {
        Expand { de, x }
    }
}

macro_rules! forward_deserialize {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
                self.de.$method(Wrap { inner: visitor, x: self.x })
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Expand<'_, '_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_unit_struct(
            name,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_newtype_struct(
            name,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.de.deserialize_tuple(
            len,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_tuple_struct(
            name,
            len,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.de.deserialize_enum(
            name,
            variants,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }

    fn is_human_readable(&self) -> bool {
        self.de.is_human_readable()
    }
}

/// A visitor that expands the strings it is given before passing them on.
struct Wrap<'x, 'a, V> {
    inner: V,
    x: &'x Expander<'a>,
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {
        $(
            fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
                self.inner.$method(v)
            }
        )*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, '_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<V::Value, E> {
        match self.x.value(v)? {
            Some(expanded) => self.inner.visit_string(expanded),
            None => self.inner.visit_str(v),
        }
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<V::Value, E> {
        match self.x.value(v)? {
            Some(expanded) => self.inner.visit_string(expanded),
            None => self.inner.visit_borrowed_str(v),
        }
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<V::Value, E> {
        match self.x.value(&v)? {
            Some(expanded) => self.inner.visit_string(expanded),
            None => self.inner.visit_string(v),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<V::Value, D2::Error> {
        self.inner.visit_some(Expand { de: d, x: self.x })
    }

    fn visit_newtype_struct<D2: Deserializer<'de>>(self, d: D2) -> Result<V::Value, D2::Error> {
        self.inner.visit_newtype_struct(Expand { de: d, x: self.x })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.inner.visit_seq(Seq {
            inner: seq,
            x: self.x,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.inner.visit_map(Map {
            inner: map,
            x: self.x,
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.inner.visit_enum(Enum {
            inner: data,
            x: self.x,
        })
    }
}

/// A seed whose deserializer expands values.
struct Seed<'x, 'a, S> {
    inner: S,
    x: &'x Expander<'a>,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<'_, '_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Expand { de: d, x: self.x })
    }
}

struct Seq<'x, 'a, A> {
    inner: A,
    x: &'x Expander<'a>,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<'_, '_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.inner.next_element_seed(Seed {
            inner: seed,
            x: self.x,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// Keys are read as written; only values expand.
struct Map<'x, 'a, A> {
    inner: A,
    x: &'x Expander<'a>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<'_, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.next_value_seed(Seed {
            inner: seed,
            x: self.x,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// Variant names are read as written; their contents expand.
struct Enum<'x, 'a, A> {
    inner: A,
    x: &'x Expander<'a>,
}

impl<'x, 'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<'x, 'a, A> {
    type Error = A::Error;
    type Variant = Variant<'x, 'a, A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self::Variant), A::Error> {
        let (value, variant) = self.inner.variant_seed(seed)?;
        Ok((
            value,
            Variant {
                inner: variant,
                x: self.x,
            },
        ))
    }
}

struct Variant<'x, 'a, A> {
    inner: A,
    x: &'x Expander<'a>,
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<'_, '_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.inner.newtype_variant_seed(Seed {
            inner: seed,
            x: self.x,
        })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.inner.tuple_variant(
            len,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.inner.struct_variant(
            fields,
            Wrap {
                inner: visitor,
                x: self.x,
            },
        )
    }
}

/// Where `${name}` is first referenced in `text` at or after `line`:`column`
/// (1-based; the start of the value the parser reported), else that place.
pub fn locate_reference(text: &str, name: &str, line: usize, column: usize) -> (usize, usize) {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let from = text[line_start.min(text.len())..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| line_start + i);
    let needle = format!("${{{name}}}");
    let mut search = from;
    while let Some(found) = text[search..].find(&needle).map(|i| search + i) {
        // After an odd number of `$`, it is a literal (`$${name}`).
        let dollars = text[..found].bytes().rev().take_while(|&b| b == b'$').count();
        if dollars % 2 == 0 {
            return line_column(text, found);
        }
        search = found + needle.len();
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_braced_variables() {
        assert_eq!(
            expand("a: ${TOKEN}\nb: x${EMPTY}y", &env).unwrap(),
            "a: s3cr3t\nb: xy"
        );
    }

    #[test]
    fn leaves_regex_references_and_bare_dollars() {
        let text = "replacement: '${1}:9100'\nregex: '^a$'\nr: $1 $x ${not-a-name}";
        assert_eq!(expand(text, &env).unwrap(), text);
    }

    #[test]
    fn double_dollar_is_a_literal_dollar() {
        assert_eq!(expand("p: $${TOKEN} $$1", &env).unwrap(), "p: ${TOKEN} $1");
    }

    #[test]
    fn unset_variable_is_named_with_position() {
        let err = expand("a: 1\nb: x ${NOPE}", &env).unwrap_err();
        assert_eq!(
            err,
            UnsetVariable {
                name: "NOPE".into(),
                line: 2,
                column: 6
            }
        );
    }
}
