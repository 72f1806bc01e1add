//! Record fields that remember whether they were absent, `null` or a value, so records round-trip exactly.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::Deref;

/// One optional field of a provider record: absent, explicitly `null`, or a value.
///
/// ```
/// use genjob_models::DreaminaVideoJob;
///
/// let text = r#"{"jobid":"j1","status":"created","model":null}"#;
/// let job: DreaminaVideoJob = serde_json::from_str(text)?;
/// assert!(job.model.is_null());
/// assert_eq!(job.model.as_deref(), None);
/// assert!(job.error.is_absent());
/// assert_eq!(serde_json::to_string(&job)?, text);
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// `Option<T>` reads `{"model": null}` and `{}` alike, so a record would come back without the
/// `null` it was sent with. Every record struct therefore gives its `Field`s
/// `#[serde(default, skip_serializing_if = "Field::is_absent")]` (through `serde_with::apply`):
/// a missing key is [`Field::Absent`] and is not written back, `null` is [`Field::Null`] and is.
/// A value reads exactly as `Option<T>` would read it, so no record that parsed before fails now.
///
/// Readers that do not care about the difference use [`Field::as_option`], [`Field::as_deref`] or
/// [`Field::into_option`]: absent and `null` both mean "no value".
///
/// Deliberately exhaustive, like `Option`: a field has no fourth state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field<T> {
    /// The key was not in the record.
    Absent,
    /// The key was there with the value `null`.
    Null,
    /// The key had a value.
    Value(T),
}

impl<T> Field<T> {
    /// True when the key was not in the record.
    pub const fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// True when the key was there with the value `null`.
    pub const fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value, if any: absent and `null` both give `None`.
    pub const fn as_option(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }

    /// The value dereferenced (`&str` for a `Field<String>`), if any.
    pub fn as_deref(&self) -> Option<&T::Target>
    where
        T: Deref,
    {
        self.as_option().map(Deref::deref)
    }

    /// The value, if any, by value (a `Field` of a `Copy` type is `Copy`, so this also reads numbers).
    pub fn into_option(self) -> Option<T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }
}

/// Absent: a field nobody set is not written.
impl<T> Default for Field<T> {
    fn default() -> Self {
        Self::Absent
    }
}

/// `Some` is a value and `None` is absent, as a record built in code means it.
impl<T> From<Option<T>> for Field<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Self::Absent, Self::Value)
    }
}

impl<T: Serialize> Serialize for Field<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(v) => serializer.serialize_some(v),
            // Record structs skip absent fields; an absent field serialized on its own can only be `null`.
            Self::Absent | Self::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    /// Reads `null` as [`Field::Null`] and anything else as `T`; a missing key never reaches this
    /// (record structs default it to [`Field::Absent`]).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Self::Null, Self::Value))
    }
}
