//! The dispatch lists (see [`crate::functions::sigs`]) of the core functions whose argument
//! errors Puppet words from its signatures.

use crate::functions::sigs::{block, opt_block, Sig};

/// `partition`, `group_by`.
pub(crate) const COLLECTION_12: &[Sig] = &[
    Sig {
        params: &[("Collection", "collection")],
        block: block("Callable[1, 1]", 1),
    },
    Sig {
        params: &[("Array", "array")],
        block: block("Callable[2, 2]", 2),
    },
    Sig {
        params: &[("Collection", "collection")],
        block: block("Callable[2, 2]", 2),
    },
];

/// `step`.
pub(crate) const STEP: &[Sig] = &[
    Sig {
        params: &[("Iterable", "iterable"), ("Integer[1]", "step")],
        block: None,
    },
    Sig {
        params: &[("Iterable", "iterable"), ("Integer[1]", "step")],
        block: block("Callable[1, 1]", 1),
    },
];

/// `reverse_each`.
pub(crate) const REVERSE_EACH: &[Sig] = &[
    Sig {
        params: &[("Iterable", "iterable")],
        block: None,
    },
    Sig {
        params: &[("Iterable", "iterable")],
        block: block("Callable[1, 1]", 1),
    },
];

/// `unique`.
pub(crate) const UNIQUE: &[Sig] = &[
    Sig {
        params: &[("String", "string")],
        block: opt_block("Callable[String]", 1),
    },
    Sig {
        params: &[("Hash", "hash")],
        block: opt_block("Callable[Any]", 1),
    },
    Sig {
        params: &[("Array", "array")],
        block: opt_block("Callable[Any]", 1),
    },
    Sig {
        params: &[("Iterable", "iterable")],
        block: opt_block("Callable[Any]", 1),
    },
];

/// `sort`.
pub(crate) const SORT: &[Sig] = &[
    Sig {
        params: &[("String", "string_value")],
        block: opt_block("Callable[2, 2]", 2),
    },
    Sig {
        params: &[("Array", "array_value")],
        block: opt_block("Callable[2, 2]", 2),
    },
];

/// `round`.
pub(crate) const ROUND: &[Sig] = &[Sig {
    params: &[("Numeric", "val")],
    block: None,
}];

/// `type`.
pub(crate) const TYPE: &[Sig] = &[
    Sig {
        params: &[("Any", "value"), ("Enum[detailed]", "inference_method?")],
        block: None,
    },
    Sig {
        params: &[("Any", "value"), ("Enum[reduced]", "inference_method")],
        block: None,
    },
    Sig {
        params: &[("Any", "value"), ("Enum[generalized]", "inference_method")],
        block: None,
    },
];

/// `regsubst`.
pub(crate) const REGSUBST: &[Sig] = &[
    Sig {
        params: &[
            ("Variant[Array[String],String]", "target"),
            ("String", "pattern"),
            ("Variant[String,Hash[String,String]]", "replacement"),
            ("Optional[Pattern[/^[GEIM]*$/]]", "flags?"),
            ("Enum['N','E','S','U']", "encoding?"),
        ],
        block: None,
    },
    Sig {
        params: &[
            ("Variant[Array[String],String]", "target"),
            ("Variant[Regexp,Type[Regexp]]", "pattern"),
            ("Variant[String,Hash[String,String]]", "replacement"),
            ("Pattern[/^G?$/]", "flags?"),
        ],
        block: None,
    },
];

/// `tree_each`.
pub(crate) const TREE_EACH: &[Sig] = &[
    Sig {
        params: &[
            ("Variant[Iterator, Array, Hash, Object]", "tree"),
            ("Hash", "options?"),
        ],
        block: block("Callable[2, 2]", 2),
    },
    Sig {
        params: &[
            ("Variant[Iterator, Array, Hash, Object]", "tree"),
            ("Hash", "options?"),
        ],
        block: block("Callable[1, 1]", 1),
    },
    Sig {
        params: &[
            ("Variant[Iterator, Array, Hash, Object]", "tree"),
            ("Hash", "options?"),
        ],
        block: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table names each parameter once, optional and repeated ones last.
    #[test]
    fn tables_are_well_formed() {
        for table in [
            COLLECTION_12,
            STEP,
            REVERSE_EACH,
            UNIQUE,
            SORT,
            ROUND,
            TYPE,
            REGSUBST,
            TREE_EACH,
        ] {
            for sig in table {
                let mut seen_optional = false;
                let mut names: Vec<&str> = Vec::new();
                for (ty, name) in sig.params {
                    assert!(!ty.is_empty());
                    let optional = name.ends_with(['?', '*']);
                    assert!(optional || !seen_optional, "{name} follows an optional");
                    seen_optional |= optional;
                    let bare = name.trim_end_matches(['?', '*']);
                    assert!(!names.contains(&bare), "{bare} twice");
                    names.push(bare);
                }
                if let Some(b) = &sig.block {
                    assert!(b.min <= b.max && b.text.starts_with("Callable"));
                }
            }
        }
    }
}
