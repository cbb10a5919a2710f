//! The `json` feature's decoder: a message's data, JSON text, into any `T: DeserializeOwned`, with serde.
//!
//! A serde `Deserializer` of its own rather than serde_json's, for the bundle: serde_json's parser, its error
//! formatting (line and column, `Unexpected` values with `f64` `Display`, `Debug`-escaped strings) and its float
//! parsing cost a Leptos app about 20 KB brotli. What is kept small here:
//! - the grammar is read into a [`Token`] by functions that are not generic; only the dispatch of a token to a
//!   serde visitor (a few lines) is compiled for each visited type;
//! - numbers: integers exactly as `u64`/`i64`; a decimal number whose digits fit a `u64` (19 or 20 of them) and whose
//!   power of ten is at most 22 as serde_json reads it (without its `float_roundtrip` feature): the digits as an
//!   `f64`, multiplied or divided by the exact power of ten, so the same `f64` to the bit (exact, Clinger's fast
//!   path, when the digits are at most 2^53, like `21.53`; within one ulp otherwise, like a millisecond time with
//!   a fraction, `1764438000123.4563`). Any other number is read by JavaScript's `parseFloat` in the browser and
//!   `str::parse` elsewhere (correctly rounded; serde_json approximates those too);
//! - errors: the messages serde's derive asks for, written without formatting floats or escaping strings, then the
//!   position (`at line L column C`).
//!
//! It accepts what RFC 8259 accepts (tested against serde_json in `tests` below), nests at most [`MAX_DEPTH`] arrays
//! and objects (deeper input is an error, never a stack overflow), and never panics.

use std::fmt::{self, Display, Write as _};

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Expected, IntoDeserializer, Unexpected, Visitor};

/// Arrays and objects nested deeper than this are an error (serde_json's limit too): the deserializer recurses once
/// per level.
const MAX_DEPTH: u32 = 128;

/// Decodes `data` as JSON into `T`: the decoder [`use_event_source`](crate::use_event_source) uses, for
/// [`use_event_source_with_decoder`](crate::use_event_source_with_decoder) or your own requests (so an app that has
/// the hook links one JSON decoder, not two). The error is a message with the position, like serde_json's.
///
/// ```
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Reading {
///     temperature: f64,
/// }
/// assert_eq!(leptos_sse_live::json::<Reading>(r#"{"temperature": 21.5}"#), Ok(Reading { temperature: 21.5 }));
/// assert_eq!(
///     leptos_sse_live::json::<Reading>("{}"),
///     Err("missing field `temperature` at line 1 column 2".to_owned())
/// );
/// ```
pub fn json<T: DeserializeOwned>(data: &str) -> Result<T, String> {
    let mut parser = Parser { text: data, at: 0, depth: 0 };
    match T::deserialize(&mut parser) {
        Ok(value) if parser.peek().is_none() => Ok(value),
        Ok(_) => Err(parser.describe(Error::new("trailing characters"))),
        Err(error) => Err(parser.describe(error)),
    }
}

/// A decoding error: its message, without the position (added by [`Parser::describe`]).
pub(crate) struct Error(String);

impl Error {
    fn new(message: &str) -> Self {
        Error(message.to_owned())
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// By hand: a derived `Debug` would escape the message (`str`'s `Debug`, code this module keeps out of the bundle).
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The messages serde's derive asks for, written without serde's `Unexpected` `Display` (which formats floats) or
/// its `OneOf` (which `Debug`-escapes).
impl de::Error for Error {
    fn custom<T: Display>(message: T) -> Self {
        Error(message.to_string())
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        mismatch("invalid type: ", unexpected, expected)
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        mismatch("invalid value: ", unexpected, expected)
    }

    fn invalid_length(length: usize, expected: &dyn Expected) -> Self {
        let mut message = String::from("invalid length ");
        let _ = write!(message, "{length}, expected {expected}");
        Error(message)
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Error(unknown("variant", variant, expected))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Error(unknown("field", field, expected))
    }

    fn missing_field(field: &'static str) -> Self {
        Error(["missing field `", field, "`"].concat())
    }

    fn duplicate_field(field: &'static str) -> Self {
        Error(["duplicate field `", field, "`"].concat())
    }
}

fn mismatch(what: &str, unexpected: Unexpected<'_>, expected: &dyn Expected) -> Error {
    let mut message = String::from(what);
    match unexpected {
        Unexpected::Bool(value) => drop(write!(message, "boolean `{value}`")),
        Unexpected::Unsigned(value) => drop(write!(message, "integer `{value}`")),
        Unexpected::Signed(value) => drop(write!(message, "integer `{value}`")),
        Unexpected::Char(value) => drop(write!(message, "character `{value}`")),
        Unexpected::Str(value) => drop(write!(message, "string \"{value}\"")),
        // Not serde's `Display` of `Unexpected`: with its `Float` arm it would link `f64`'s, several kilobytes.
        other => message.push_str(match other {
            Unexpected::Float(_) => "floating point number",
            Unexpected::Unit => "null",
            Unexpected::Seq => "array",
            Unexpected::Map => "object",
            Unexpected::Bytes(_) => "byte array",
            Unexpected::Option => "option",
            Unexpected::NewtypeStruct => "newtype struct",
            Unexpected::Enum => "enum",
            Unexpected::UnitVariant => "unit variant",
            Unexpected::NewtypeVariant => "newtype variant",
            Unexpected::TupleVariant => "tuple variant",
            Unexpected::StructVariant => "struct variant",
            Unexpected::Other(what) => what,
            _ => "value",
        }),
    }
    let _ = write!(message, ", expected {expected}");
    Error(message)
}

fn unknown(what: &str, name: &str, expected: &[&str]) -> String {
    let mut message = ["unknown ", what, " `", name, "`, "].concat();
    if expected.is_empty() {
        message.push_str("there are no ");
        message.push_str(what);
        message.push('s');
    } else {
        message.push_str("expected ");
        for (i, one) in expected.iter().enumerate() {
            message.push_str(if i == 0 {
                ""
            } else if i + 1 == expected.len() {
                " or "
            } else {
                ", "
            });
            message.push('`');
            message.push_str(one);
            message.push('`');
        }
    }
    message
}

/// One JSON value's start, read by [`Parser::token`]: a scalar whole, an array or object only its opening bracket.
enum Token<'a> {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    /// A string without escapes, borrowed from the input.
    Borrowed(&'a str),
    /// A string with escapes, unescaped.
    Owned(String),
    Array,
    Object,
}

/// Reads JSON text: the position in it and how deep in arrays and objects it is.
pub(crate) struct Parser<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

/// The powers of ten that are exact in `f64`, for [`Parser::number`].
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

impl<'a> Parser<'a> {
    /// `error`'s message with the position where it happened.
    fn describe(&self, error: Error) -> String {
        let before = self.text.as_bytes().get(..self.at).unwrap_or_default();
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count();
        let mut message = error.0;
        let _ = write!(message, " at line {line} column {column}");
        message
    }

    /// The next byte after whitespace, not consumed. Inlined: most calls find no whitespace.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        match self.text.as_bytes().get(self.at) {
            Some(&b) if b > b' ' => Some(b),
            _ => self.skip_whitespace(),
        }
    }

    /// [`Parser::peek`] past whitespace.
    fn skip_whitespace(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        loop {
            let b = *bytes.get(self.at)?;
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.at += 1;
        }
    }

    /// Consumes `byte` after whitespace, or fails with `message`.
    fn eat(&mut self, byte: u8, message: &str) -> Result<(), Error> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(Error::new(message))
        }
    }

    /// Reads the next value's start (see [`Token`]).
    fn token(&mut self) -> Result<Token<'a>, Error> {
        let Some(first) = self.peek() else {
            return Err(Error::new("EOF while parsing a value"));
        };
        let literal = |parser: &mut Self, word: &str, token| {
            if parser.text.as_bytes().get(parser.at..).is_some_and(|rest| rest.starts_with(word.as_bytes())) {
                parser.at += word.len();
                Ok(token)
            } else {
                Err(Error::new("expected value"))
            }
        };
        match first {
            b'n' => literal(self, "null", Token::Null),
            b't' => literal(self, "true", Token::Bool(true)),
            b'f' => literal(self, "false", Token::Bool(false)),
            b'"' => {
                self.at += 1;
                self.string()
            }
            b'[' | b'{' => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(Error::new("recursion limit exceeded"));
                }
                self.at += 1;
                Ok(if first == b'[' { Token::Array } else { Token::Object })
            }
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(Error::new("expected value")),
        }
    }

    /// After a visitor read an array or object: its closing bracket.
    fn close(&mut self, bracket: u8) -> Result<(), Error> {
        self.depth -= 1;
        self.eat(bracket, if bracket == b']' { "expected `,` or `]`" } else { "expected `,` or `}`" })
    }

    /// A string's contents and closing quote (the opening one is read).
    fn string(&mut self) -> Result<Token<'a>, Error> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        // Without escapes (the usual case), the string is a slice of the input.
        let mut special = self.skip_plain();
        if special == Some(b'"') {
            let text = self.slice(start)?;
            self.at += 1;
            return Ok(Token::Borrowed(text));
        }
        let mut owned = String::new();
        let mut run = start;
        loop {
            owned.push_str(self.slice(run)?);
            match special {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Token::Owned(owned));
                }
                Some(b'\\') => {
                    let escaped = bytes.get(self.at + 1).copied();
                    self.at += 2;
                    owned.push(match escaped {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(Error::new("invalid escape")),
                    });
                }
                Some(_) => return Err(Error::new("control character (\\u0000-\\u001F) found while parsing a string")),
                None => return Err(Error::new("EOF while parsing a string")),
            }
            run = self.at;
            special = self.skip_plain();
        }
    }

    /// Moves to the next byte that ends a run of plain characters in a string (`"`, `\`, or a control character,
    /// an error) and returns it; `None` at the end of the input.
    fn skip_plain(&mut self) -> Option<u8> {
        let rest = self.text.as_bytes().get(self.at..).unwrap_or_default();
        let found = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        self.at += found.unwrap_or(rest.len());
        found.map(|i| rest[i])
    }

    /// The input from `start` to here (both at ASCII bytes or the end, so on character boundaries).
    fn slice(&self, start: usize) -> Result<&'a str, Error> {
        self.text.get(start..self.at).ok_or_else(|| Error::new("invalid string"))
    }

    /// The character of a `\u` escape (its `\u` read), a UTF-16 surrogate pair as one.
    fn unicode_escape(&mut self) -> Result<char, Error> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.text.as_bytes().get(self.at..self.at + 2) != Some(b"\\u") {
                    return Err(Error::new("lone leading surrogate in hex escape"));
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(Error::new("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            _ => first,
        };
        char::from_u32(code).ok_or_else(|| Error::new("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self.text.as_bytes().get(self.at).and_then(|&b| char::from(b).to_digit(16));
            value = value * 16 + digit.ok_or_else(|| Error::new("invalid escape"))?;
            self.at += 1;
        }
        Ok(value)
    }

    /// A number: an integer as `u64`/`i64` when it fits, otherwise an `f64` (see the module's docs).
    fn number(&mut self) -> Result<Token<'a>, Error> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let negative = bytes.get(self.at) == Some(&b'-');
        self.at += usize::from(negative);
        // The digits as a u64 and the power of ten they are scaled by; `exact` while they fit.
        let mut mantissa: u64 = 0;
        let mut exact = true;
        let whole = self.digits(&mut mantissa, &mut exact);
        if whole == 0 || (whole > 1 && bytes.get(start + usize::from(negative)) == Some(&b'0')) {
            return Err(Error::new("invalid number"));
        }
        let mut exponent: i32 = 0;
        let mut integer = true;
        if bytes.get(self.at) == Some(&b'.') {
            integer = false;
            self.at += 1;
            let fraction = self.digits(&mut mantissa, &mut exact);
            if fraction == 0 {
                return Err(Error::new("invalid number"));
            }
            exponent = i32::try_from(fraction).map_or(i32::MIN, |n| -n);
        }
        if matches!(bytes.get(self.at), Some(b'e' | b'E')) {
            integer = false;
            self.at += 1;
            let sign = match bytes.get(self.at) {
                Some(b'-') => -1,
                Some(b'+') => 1,
                _ => 0,
            };
            self.at += usize::from(sign != 0);
            if !bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
                return Err(Error::new("invalid number"));
            }
            let mut written: i32 = 0;
            while let Some(&b) = bytes.get(self.at).filter(|b| b.is_ascii_digit()) {
                written = (written * 10 + i32::from(b - b'0')).min(100_000);
                self.at += 1;
            }
            exponent = exponent.saturating_add(if sign < 0 { -written } else { written });
        }
        if integer && exact && exponent == 0 {
            if !negative {
                return Ok(Token::Unsigned(mantissa));
            }
            if mantissa != 0 && mantissa <= 1 << 63 {
                return Ok(Token::Signed(0_i64.wrapping_sub_unsigned(mantissa)));
            }
        }
        let value = if exact && exponent.unsigned_abs() < 23 {
            let scale = POWERS_OF_TEN[exponent.unsigned_abs() as usize];
            let magnitude = if exponent < 0 { mantissa as f64 / scale } else { mantissa as f64 * scale };
            if negative {
                -magnitude
            } else {
                magnitude
            }
        } else {
            parse_float(self.text.get(start..self.at).unwrap_or_default())
        };
        if value.is_finite() {
            Ok(Token::Float(value))
        } else {
            Err(Error::new("number out of range"))
        }
    }

    /// The run of digits from here, appended to `mantissa` (`exact` becomes false when they no longer fit a u64);
    /// how many there were.
    fn digits(&mut self, mantissa: &mut u64, exact: &mut bool) -> usize {
        let bytes = self.text.as_bytes();
        let (start, mut at, mut value) = (self.at, self.at, *mantissa);
        while let Some(&b) = bytes.get(at) {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            if value < u64::MAX / 10 {
                value = value * 10 + u64::from(digit);
            } else if let Some(more) = value.checked_mul(10).and_then(|m| m.checked_add(u64::from(digit))) {
                value = more;
            } else {
                *exact = false;
            }
            at += 1;
        }
        (self.at, *mantissa) = (at, value);
        at - start
    }
}

/// A JSON number [`Parser::number`] does not compute itself, correctly rounded.
#[cfg(target_arch = "wasm32")]
fn parse_float(text: &str) -> f64 {
    js_sys::parse_float(text)
}

/// A JSON number [`Parser::number`] does not compute itself, correctly rounded.
#[cfg(not(target_arch = "wasm32"))]
fn parse_float(text: &str) -> f64 {
    text.parse().unwrap_or(f64::NAN)
}

impl<'de> de::Deserializer<'de> for &mut Parser<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.token()? {
            Token::Null => visitor.visit_unit(),
            Token::Bool(value) => visitor.visit_bool(value),
            Token::Unsigned(value) => visitor.visit_u64(value),
            Token::Signed(value) => visitor.visit_i64(value),
            Token::Float(value) => visitor.visit_f64(value),
            Token::Borrowed(value) => visitor.visit_borrowed_str(value),
            Token::Owned(value) => visitor.visit_string(value),
            Token::Array => {
                let value = visitor.visit_seq(Items { parser: &mut *self, first: true })?;
                self.close(b']')?;
                Ok(value)
            }
            Token::Object => {
                let value = visitor.visit_map(Items { parser: &mut *self, first: true })?;
                self.close(b'}')?;
                Ok(value)
            }
        }
    }

    /// A string (an object's key, a field's name): read directly, without [`Parser::token`]'s dispatch.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek() != Some(b'"') {
            return self.deserialize_any(visitor);
        }
        self.at += 1;
        match self.string()? {
            Token::Borrowed(value) => visitor.visit_borrowed_str(value),
            Token::Owned(value) => visitor.visit_string(value),
            _ => Err(Error::new("expected a string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek() == Some(b'n') {
            self.token()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// An enum as serde_json writes them: a unit variant as a string, any other as `{"Variant": value}`.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.token()? {
            Token::Borrowed(name) => visitor.visit_enum(name.into_deserializer()),
            Token::Owned(name) => visitor.visit_enum(name.into_deserializer()),
            Token::Object => {
                let value = visitor.visit_enum(Items { parser: &mut *self, first: true })?;
                self.close(b'}')?;
                Ok(value)
            }
            _ => Err(Error::new("expected a string or an object (an enum)")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct ignored_any
    }
}

/// An array's items, an object's entries or an enum's `{"Variant": value}`, as serde's visitors read them.
struct Items<'p, 'a> {
    parser: &'p mut Parser<'a>,
    first: bool,
}

impl<'a> Items<'_, 'a> {
    /// Whether another item follows (its comma read), `false` at `close`.
    fn next(&mut self, close: u8) -> Result<bool, Error> {
        match self.parser.peek() {
            Some(b) if b == close => return Ok(false),
            Some(b',') if !self.first => self.parser.at += 1,
            _ if self.first => self.first = false,
            _ => return Err(Error::new(if close == b']' { "expected `,` or `]`" } else { "expected `,` or `}`" })),
        }
        Ok(true)
    }

    /// An object's key (a string), then its colon. The key is read here and handed to `seed` as a string
    /// (serde's own string deserializers), so it skips [`Parser::token`]'s dispatch.
    fn key<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<K::Value, Error> {
        if self.parser.peek() != Some(b'"') {
            return Err(Error::new("key must be a string"));
        }
        self.parser.at += 1;
        let key = match self.parser.string()? {
            Token::Borrowed(key) => seed.deserialize(BorrowedStrDeserializer::new(key)),
            Token::Owned(key) => seed.deserialize(key.into_deserializer()),
            _ => Err(Error::new("key must be a string")),
        }?;
        self.parser.eat(b':', "expected `:`")?;
        Ok(key)
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, Error> {
        if self.next(b']')? {
            seed.deserialize(&mut *self.parser).map(Some)
        } else {
            Ok(None)
        }
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.next(b'}')? {
            self.key(seed).map(Some)
        } else {
            Ok(None)
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(&mut *self.parser)
    }
}

impl<'de> de::EnumAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(mut self, seed: S) -> Result<(S::Value, Self), Error> {
        let variant = self.key(seed)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for Items<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(&mut *self.parser)
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(&mut *self.parser)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(&mut *self.parser, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(&mut *self.parser, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;
    use serde_json::Value;

    use super::json;

    #[derive(Debug, PartialEq, Deserialize)]
    enum Kind {
        Plain,
        Scaled(f64),
        Range { low: i32, high: i32 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Reading {
        temperature: f64,
        at: String,
        #[serde(default)]
        label: Option<String>,
        kinds: Vec<Kind>,
        counts: BTreeMap<String, u8>,
        id: (u64, i64),
    }

    /// Decoded by both, the same value, or both errors.
    fn same<T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(text: &str) {
        match (json::<T>(text), serde_json::from_str::<T>(text)) {
            (Ok(ours), Ok(theirs)) => assert_eq!(ours, theirs, "{text:?}"),
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!("{text:?}: ours {ours:?}, serde_json's {theirs:?}"),
        }
    }

    #[test]
    fn documents_decode_as_serde_json_decodes_them() {
        let documents = [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "7",
            "-7",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "21.53",
            "-0.001",
            "1e5",
            "1E+5",
            "2.5e-3",
            "0.1",
            "1764438000123",
            "1764438000123.25",
            "9007199254740993.0",
            "1764438000123.4563",
            "1.7976931348623157e308",
            "5e-324",
            "1e-400",
            "0.30000000000000004",
            "123.456e-7",
            r#""""#,
            r#""plain text""#,
            r#""\" \\ \/ \b \f \n \r \t""#,
            r#""\u00e9\u4e2d\ud83d\ude00""#,
            "\"é中😀\"",
            r#""a\u0000b""#,
            "[]",
            "{}",
            " [1, 2.5, \"three\", null, [true, {\"a\": []}]] ",
            "\t{\n\"k\" :\r1 }\n",
            r#"{"a": 1, "a": 2}"#,
            r#"{"temperature": 21.5, "at": "12:00", "nested": {"x": [1, -1, 1e2]}}"#,
        ];
        for text in documents {
            same::<Value>(text);
        }
    }

    #[test]
    fn numbers_beyond_serde_jsons_arithmetic_are_correctly_rounded() {
        // More digits than a u64 holds, or a power of ten over 22: `parseFloat`/`str::parse`, where serde_json
        // (without `float_roundtrip`) computes and may be ulps off (its -1.0507936330080961e77 is more than
        // one ulp off).
        for text in [
            "2.2250738585072011e-308",
            "1.00000000000000011102230246251565404236316680908203125",
            "9007199254740993.00000000000000000001",
            "1.7976931348623157e308",
            "4.9e-324",
            "123456789e-30",
            "-1.0507936330080961e+77",
        ] {
            assert_eq!(json::<f64>(text), Ok(text.parse::<f64>().unwrap()), "{text}");
        }
        // Digits that fit a u64 and a power of ten up to 22: serde_json's arithmetic, so its very `f64` (at most one
        // ulp off the nearest: 9007199254740993.0 is read as 9007199254740994).
        for text in ["9007199254740993.0", "1764438000123.4563", "0.30000000000000004", "12345678901234567891e-22"] {
            let ours = json::<f64>(text).unwrap();
            assert_eq!(ours.to_bits(), serde_json::from_str::<f64>(text).unwrap().to_bits(), "{text}");
            assert!(ours.to_bits().abs_diff(text.parse::<f64>().unwrap().to_bits()) <= 1, "{text}");
        }
    }

    #[test]
    fn typed_values_decode_as_serde_json_decodes_them() {
        let text = r#"{"temperature": 21.53, "at": "12:00 \u00b0", "kinds": ["Plain", {"Scaled": 2.5},
            {"Range": {"low": -3, "high": 40}}], "counts": {"a": 1, "b": 255}, "id": [18446744073709551615, -1],
            "unknown": {"ignored": [1, "two", null]}}"#;
        same::<Reading>(text);
        assert_eq!(json::<Reading>(text).unwrap().kinds[2], Kind::Range { low: -3, high: 40 });
        same::<Reading>(r#"{"temperature": 1, "at": "", "label": "x", "kinds": [], "counts": {}, "id": [0, 0]}"#);
        // Structs as arrays, as serde_json allows.
        same::<(f64, Option<String>)>("[1.5, null]");
        same::<Vec<Option<i8>>>("[1, null, -128]");
        same::<char>(r#""é""#);
        same::<f32>("3.25");
        same::<u8>("256");
        same::<i32>("-0");
    }

    #[test]
    fn malformed_documents_are_errors() {
        let malformed = [
            "",
            " ",
            "this is not json",
            "{",
            "[",
            "[1,]",
            "[1 2]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "{1: 2}",
            "01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "-",
            "--1",
            "+1",
            "1 2",
            "tru",
            "nul",
            "falsey",
            r#""\x""#,
            "\"\u{1}\"",
            r#""\ud800""#,
            r#""\ud800\u0041""#,
            r#""\udc00""#,
            r#""\u12""#,
            r#""open"#,
            "1e400",
            "-1e400",
            "[1]]",
            "{}}",
            r#"{"a":}"#,
            "\u{feff}1",
        ];
        for text in malformed {
            assert!(json::<Value>(text).is_err(), "{text:?} is not JSON");
            assert!(serde_json::from_str::<Value>(text).is_err(), "{text:?} is not JSON for serde_json either");
        }
    }

    #[test]
    fn nesting_is_bounded_not_a_stack_overflow() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(json::<Value>(&nested(128)).is_ok());
        assert!(json::<Value>(&nested(129)).unwrap_err().starts_with("recursion limit exceeded"));
        assert!(json::<serde::de::IgnoredAny>(&nested(100_000)).is_err());
        assert!(json::<Value>(&"{\"a\":".repeat(100_000)).is_err());
    }

    #[test]
    fn errors_say_what_and_where() {
        #[derive(Debug, Deserialize)]
        struct Temperature {
            #[allow(dead_code)]
            temperature: f64,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        enum Unit {
            Celsius,
            Fahrenheit,
        }
        let error = |text: &str| json::<Temperature>(text).unwrap_err();
        assert_eq!(error("this is not json"), "expected value at line 1 column 1");
        assert_eq!(error("{}"), "missing field `temperature` at line 1 column 2");
        assert_eq!(
            error("{\n  \"temperature\": \"warm\"}"),
            "invalid type: string \"warm\", expected f64 at line 2 column 24"
        );
        assert_eq!(error(r#"{"temperature": 1} x"#), "trailing characters at line 1 column 20");
        assert_eq!(
            json::<u8>("2.5").unwrap_err(),
            "invalid type: floating point number, expected u8 at line 1 column 4"
        );
        assert_eq!(
            json::<Unit>(r#""Kelvin""#).unwrap_err(),
            "unknown variant `Kelvin`, expected `Celsius` or `Fahrenheit` at line 1 column 9"
        );
    }

    /// The same value, floats within one ulp (see the module's docs on numbers).
    fn close_to(ours: &Value, original: &Value) -> bool {
        match (ours, original) {
            (Value::Number(a), Value::Number(b)) if a.is_f64() && b.is_f64() => {
                let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                a.to_bits().abs_diff(b.to_bits()) <= 1 && a.is_sign_negative() == b.is_sign_negative()
            }
            (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| close_to(a, b)),
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((ka, a), (kb, b))| ka == kb && close_to(a, b))
            }
            _ => ours == original,
        }
    }

    #[test]
    fn generated_documents_round_trip_from_serde_json() {
        // serde_json writes a value, this decoder reads it back: the same value, each float within one ulp (exact
        // beyond serde_json's arithmetic, see the module's docs).
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        fn value(next: &mut dyn FnMut() -> u64, depth: u32) -> Value {
            match next() % if depth > 3 { 6 } else { 8 } {
                0 => Value::Null,
                1 => Value::Bool(next() % 2 == 0),
                2 => Value::from(next() >> (next() % 64)),
                3 => Value::from(-((next() >> 1) as i64) >> (next() % 63)),
                4 => {
                    let float = f64::from_bits(next());
                    let float = if float.is_finite() { float } else { (next() % 100_000) as f64 / 100.0 };
                    Value::from(float)
                }
                5 => {
                    let text: String = (0..next() % 12)
                        .map(|_| char::from_u32((next() % 0x1_0000) as u32).unwrap_or('\u{10348}'))
                        .collect();
                    Value::String(text)
                }
                6 => Value::Array((0..next() % 5).map(|_| value(next, depth + 1)).collect()),
                _ => Value::Object((0..next() % 5).map(|i| (format!("k{i}"), value(next, depth + 1))).collect()),
            }
        }
        for _ in 0..5_000 {
            let original = value(&mut next, 0);
            for text in [serde_json::to_string(&original).unwrap(), serde_json::to_string_pretty(&original).unwrap()] {
                let ours = json::<Value>(&text).unwrap();
                assert!(close_to(&ours, &original), "{text}: {ours}");
            }
        }
    }
}
