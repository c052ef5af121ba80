//! The `snake_case` names of the domain's enums, in one place.

/// Defines a fieldless enum whose variants have a fixed `snake_case` name,
/// with `ALL`, `as_str`, `Display` and a `parse` that names the field.
macro_rules! named_enum {
    (
        $(#[$doc:meta])*
        $vis:vis enum $name:ident : $field:literal {
            $( $(#[$vdoc:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vdoc])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used on every wire and in the store.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses a name as written by [`as_str`](Self::as_str).
            ///
            /// # Errors
            ///
            #[doc = concat!("A [`ValidationError`](crate::ValidationError) on field `", $field, "` listing the accepted names.")]
            pub fn parse(text: &str) -> Result<$name, crate::ValidationError> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::ValidationError::new(
                        $field,
                        format!(
                            "unknown value {text:?}, expected one of: {}",
                            [$($text),+].join(", ")
                        ),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::ValidationError;
            fn from_str(s: &str) -> Result<$name, crate::ValidationError> {
                $name::parse(s)
            }
        }
    };
}

pub(crate) use named_enum;
