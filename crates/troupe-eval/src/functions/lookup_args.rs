//! `lookup()`'s dispatch failure when the positional `value_type` is not a type: Puppet lists
//! every signature and why it rejected each one.

use troupe_values::error::EvalError;
use troupe_values::value::Value;

const NAME: &str = "NameType = Variant[String, Array[String]] name";
const MERGE: &str = "MergeType = Variant[String[1], Hash[String, Scalar]]";
const OPTS: &str = "'value_type' => Optional[ValueType = Type], 'default_value' => DefaultValueType = Any, 'override' => Optional[Hash[String, Any]], 'default_values_hash' => Optional[Hash[String, Any]], 'merge' => Optional[MergeType = Variant[String[1], Hash[String, Scalar]]]";

/// `lookup(name, value_type, merge)` with a `value_type` that is not a Type.
pub fn check(args: &[Value]) -> Result<(), EvalError> {
    if args.len() != 3 || matches!(args[1], Value::Type(_)) {
        return Ok(());
    }
    let got = troupe_values::types::infer_for_message(&args[1]);
    let short = format!(
        "\n  ({NAME}, ValueType = Type value_type?, {MERGE} merge?)\n    rejected: parameter 'value_type' expects a ValueType = Type value, got {got}"
    );
    let mut msg = String::from(
        "The function 'lookup' was called with arguments it does not accept. It expects one of:",
    );
    msg.push_str(&short);
    msg.push_str(&format!(
        "\n  ({NAME}, Optional[ValueType] value_type, Optional[MergeType] merge, DefaultValueType = Any default_value)\n    rejected: expects 4 arguments, got 3"
    ));
    msg.push_str(&short);
    msg.push_str(&format!(
        "\n  (OptionsWithName = Struct[{{'name' => NameType = Variant[String, Array[String]], {OPTS}}}] options_hash, BlockType = Callable[NameType = Variant[String, Array[String]]] block?)\n    rejected: expects 1 argument, got 3"
    ));
    msg.push_str(&format!(
        "\n  (Variant[String, Array[String]] name, OptionsWithoutName = Struct[{{{OPTS}}}] options_hash, BlockType = Callable[NameType = Variant[String, Array[String]]] block?)\n    rejected: expects 2 arguments, got 3"
    ));
    Err(EvalError::new(msg))
}
