//! A small stand-in for the Go reflection that Ignition's generic code
//! (merge.go, validate.go's duplicate and unused-key checks, and
//! `encoding/json` decoding) runs on.
//!
//! A config is converted to a tree of [`Val`]s whose structs carry a
//! [`StructInfo`]: the Go field names, JSON tags, Go types, the spec a
//! field appeared in, and the struct's `Key()`, `IgnoreDuplicates()` and
//! `MergedKeys()`. Embedded Go structs (`Node`, `FileEmbedded1`, ...) are
//! flattened, as vcontext and merge.go treat them. The per-type
//! declarations are in `typeinfo`; this module is the generic part.

use super::Spec;

/// A Go value, as far as the generic algorithms look at it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    /// A Go string (or named string type).
    Str(String),
    /// A Go int.
    Int(i64),
    /// A Go bool; only ever behind a pointer in these types.
    Bool(bool),
    /// A pointer to a primitive.
    Ptr(Option<Box<Val>>),
    Struct(Struct),
    /// A slice; nil and empty are not told apart.
    List(Vec<Val>),
}

impl Default for Val {
    fn default() -> Self {
        Val::Ptr(None)
    }
}

/// A struct value: one value per field of `info`, in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Struct {
    pub info: &'static StructInfo,
    pub fields: Vec<Val>,
}

impl Struct {
    /// The value of the field with this JSON name.
    pub fn get(&self, json: &str) -> Option<&Val> {
        self.info
            .fields
            .iter()
            .position(|f| f.json == json)
            .map(|i| &self.fields[i])
    }

    /// The zero value of a struct type, with every field present.
    pub fn zero(info: &'static StructInfo) -> Struct {
        Struct {
            info,
            fields: info.fields.iter().map(|f| (f.kind)().zero()).collect(),
        }
    }
}

/// What Ignition's Go types say about themselves.
pub(crate) struct StructInfo {
    pub go_name: &'static str,
    pub fields: &'static [FieldInfo],
    /// `IgnoreDuplicates()`: Go field names of lists that are neither
    /// checked for duplicates nor merged by key.
    pub ignore_dups: &'static [&'static str],
    /// `MergedKeys()`: Go field name to the shared handle of lists whose
    /// keys form one namespace.
    pub merged_keys: &'static [(&'static str, &'static str)],
    /// `Key()`, for structs that appear in lists, written to the end of
    /// the given string.
    pub key: Option<fn(&dyn KeyFields, &mut String)>,
}

impl PartialEq for StructInfo {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl std::fmt::Debug for StructInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.go_name)
    }
}

impl StructInfo {
    pub fn ignores(&self, go_field: &str) -> bool {
        self.ignore_dups.contains(&go_field)
    }

    /// The handle a list's keys live under (`MergedKeys`, else its name).
    pub fn handle<'a>(&self, go_field: &'a str) -> &'a str {
        self.merged_keys
            .iter()
            .find(|(f, _)| *f == go_field)
            .map(|&(_, h)| h)
            .unwrap_or(go_field)
    }
}

/// One struct field.
pub(crate) struct FieldInfo {
    pub go_name: &'static str,
    pub json: &'static str,
    /// The Go type as `reflect.Type.String()` names it in decoding errors
    /// (pointers are dereferenced first, so `*int` reads `int`).
    pub go_type: &'static str,
    /// The first spec version with this field.
    pub since: Spec,
    pub kind: fn() -> Kind,
}

impl FieldInfo {
    pub fn in_spec(&self, spec: Spec) -> bool {
        spec >= self.since
    }
}

/// The Go type of one element of a list type.
pub(crate) fn elem_go_type(list_type: &'static str) -> &'static str {
    match list_type {
        "types.HTTPHeaders" => "types.HTTPHeader",
        t => t.strip_prefix("[]").unwrap_or(t),
    }
}

/// The shape of a field's value.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Str,
    Int,
    PtrStr,
    PtrInt,
    PtrBool,
    /// The item kind, made when asked for: kinds are made often, and
    /// a boxed one would allocate each time.
    List(fn() -> Kind),
    Struct(&'static StructInfo),
}

impl Kind {
    pub fn zero(&self) -> Val {
        match self {
            Kind::Str => Val::Str(String::new()),
            Kind::Int => Val::Int(0),
            Kind::PtrStr | Kind::PtrInt | Kind::PtrBool => Val::Ptr(None),
            Kind::List(_) => Val::List(Vec::new()),
            Kind::Struct(info) => Val::Struct(Struct::zero(info)),
        }
    }
}

/// What a `Key()` reads: a struct's top-level primitive fields, by JSON
/// name. Structs in reflected form have them, and so do JSON objects, so
/// merging into JSON needs no conversion to find an item's key.
pub(crate) trait KeyFields {
    /// A string field's value (a plain string, or a pointer that is set).
    fn string(&self, json: &str) -> Option<&str>;
    /// An integer field's value.
    fn int(&self, json: &str) -> Option<i64>;
}

impl KeyFields for Struct {
    fn string(&self, json: &str) -> Option<&str> {
        match self.get(json)? {
            Val::Str(v) => Some(v),
            Val::Ptr(Some(inner)) => match inner.as_ref() {
                Val::Str(v) => Some(v),
                _ => None,
            },
            _ => None,
        }
    }

    fn int(&self, json: &str) -> Option<i64> {
        match self.get(json)? {
            Val::Int(n) => Some(*n),
            Val::Ptr(Some(inner)) => match inner.as_ref() {
                Val::Int(n) => Some(*n),
                _ => None,
            },
            _ => None,
        }
    }
}

impl KeyFields for serde_json::Map<String, serde_json::Value> {
    fn string(&self, json: &str) -> Option<&str> {
        self.get(json)?.as_str()
    }

    fn int(&self, json: &str) -> Option<i64> {
        self.get(json)?.as_i64()
    }
}

/// `util.CallKey`: a string's own value, else the struct's `Key()`.
pub(crate) fn call_key(v: &Val) -> String {
    match v {
        Val::Str(s) => s.clone(),
        Val::Struct(s) => {
            let mut key = String::new();
            if let Some(k) = s.info.key {
                k(s, &mut key);
            }
            key
        }
        _ => String::new(),
    }
}

/// Conversion between a Rust field type and a [`Val`].
pub(crate) trait FieldValue: Sized {
    fn kind() -> Kind;
    fn to_val(&self) -> Val;
    /// A value of the wrong shape gives the zero value.
    fn from_val(v: Val) -> Self;
}

impl FieldValue for String {
    fn kind() -> Kind {
        Kind::Str
    }
    fn to_val(&self) -> Val {
        Val::Str(self.clone())
    }
    fn from_val(v: Val) -> Self {
        match v {
            Val::Str(s) => s,
            _ => String::new(),
        }
    }
}

impl FieldValue for i64 {
    fn kind() -> Kind {
        Kind::Int
    }
    fn to_val(&self) -> Val {
        Val::Int(*self)
    }
    fn from_val(v: Val) -> Self {
        match v {
            Val::Int(i) => i,
            _ => 0,
        }
    }
}

macro_rules! ptr_field {
    ($t:ty, $kind:ident, $variant:ident) => {
        impl FieldValue for Option<$t> {
            fn kind() -> Kind {
                Kind::$kind
            }
            fn to_val(&self) -> Val {
                Val::Ptr(self.clone().map(|x| Box::new(Val::$variant(x))))
            }
            fn from_val(v: Val) -> Self {
                match v {
                    Val::Ptr(Some(b)) => match *b {
                        Val::$variant(x) => Some(x),
                        _ => None,
                    },
                    _ => None,
                }
            }
        }
    };
}
ptr_field!(String, PtrStr, Str);
ptr_field!(i64, PtrInt, Int);
ptr_field!(bool, PtrBool, Bool);

impl<T: FieldValue> FieldValue for Vec<T> {
    fn kind() -> Kind {
        Kind::List(T::kind)
    }
    fn to_val(&self) -> Val {
        Val::List(self.iter().map(T::to_val).collect())
    }
    fn from_val(v: Val) -> Self {
        match v {
            Val::List(items) => items.into_iter().map(T::from_val).collect(),
            _ => Vec::new(),
        }
    }
}

/// Declares a struct's Go description and its conversions:
/// `reflect_struct!(Rust, "GoName", key, [ignored], [(merged, handle)], {
/// field: "GoField" "json" "go type" Since; ... })`.
macro_rules! reflect_struct {
    ($ty:ident, $go:literal, $key:expr, [$($ig:literal),*], [$(($mk:literal, $mh:literal)),*], {
        $($field:ident : $goname:literal $json:literal $gotype:literal $since:ident;)*
    }) => {
        impl $ty {
            pub(crate) fn info() -> &'static StructInfo {
                static INFO: StructInfo = StructInfo {
                    go_name: $go,
                    fields: &[$(FieldInfo {
                        go_name: $goname,
                        json: $json,
                        go_type: $gotype,
                        since: Spec::$since,
                        kind: field_kind!($ty, $field),
                    },)*],
                    ignore_dups: &[$($ig),*],
                    merged_keys: &[$(($mk, $mh)),*],
                    key: $key,
                };
                &INFO
            }
        }

        impl FieldValue for $ty {
            fn kind() -> Kind {
                Kind::Struct(Self::info())
            }
            fn to_val(&self) -> Val {
                Val::Struct(Struct {
                    info: Self::info(),
                    fields: vec![$(FieldValue::to_val(&self.$field)),*],
                })
            }
            #[allow(unused_mut, unused_variables)]
            fn from_val(v: Val) -> Self {
                let Val::Struct(s) = v else {
                    return Self::default();
                };
                let mut it = s.fields.into_iter();
                $ty { $($field: FieldValue::from_val(it.next().unwrap_or_default())),* }
            }
        }
    };
}

/// The `kind` function of a struct field: that of the field's Rust type.
macro_rules! field_kind {
    ($ty:ident, $field:ident) => {{
        fn kind() -> Kind {
            fn of<T: FieldValue>(_: fn(&$ty) -> &T) -> Kind {
                T::kind()
            }
            of(|s: &$ty| &s.$field)
        }
        kind
    }};
}

pub(crate) use {field_kind, reflect_struct};

/// vcontext's walk (`validate.ValidateCustom`) as far as custom
/// validators see it: every struct, before its fields, fields in order,
/// list items by index. Fields that `spec` lacks do not exist. `path` is
/// where `v` is; it grows and shrinks as the walk goes, so that no path is
/// built for a field that nothing reports on.
pub(crate) fn walk_structs(
    v: &Val,
    path: &mut crate::butane::report::Path,
    spec: Spec,
    visit: &mut dyn FnMut(&Struct, &crate::butane::report::Path),
) {
    use crate::butane::report::Elem;
    match v {
        Val::Struct(s) => {
            visit(s, path);
            for (f, fv) in s.info.fields.iter().zip(&s.fields) {
                if f.in_spec(spec) && matches!(fv, Val::Struct(_) | Val::List(_)) {
                    path.elems.push(Elem::from(f.json));
                    walk_structs(fv, path, spec, visit);
                    path.elems.pop();
                }
            }
        }
        Val::List(items) => {
            for (i, item) in items.iter().enumerate() {
                path.elems.push(Elem::Index(i));
                walk_structs(item, path, spec, visit);
                path.elems.pop();
            }
        }
        _ => {}
    }
}
