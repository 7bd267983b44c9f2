//! A small macro for the enums that the inventory and the command line name
//! by string (spec versions, key types, usages): one `as_str` and one list
//! of every value give `Display`, `FromStr` and serde's `Deserialize`.

/// `named_enum!(Type, |input| "message for an unknown name")`: the type must
/// have `const ALL: [Type; N]` and `fn as_str(self) -> &'static str`.
macro_rules! named_enum {
    ($ty:ty, $unknown:expr) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                <$ty>::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| ($unknown)(s))
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(<D::Error as serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use named_enum;
