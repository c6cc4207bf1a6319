//! The OpenAPI schema of a listed dtype (server only: the browser never needs it).

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};

/// The schema of a listed dtype: NumPy's descr, either a string such as `"<f4"` or, for a
/// structured dtype, a list of `[name, descr]` and `[name, descr, shape]` fields.
pub fn dtype_schema() -> Schema {
    let descr = ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("A plain dtype, e.g. '<f4', '>i2', '|u1', '<M8[ns]'"))
        .examples(["<f4"]);
    let field = ArrayBuilder::new()
        .min_items(Some(2))
        .max_items(Some(3))
        .description(Some("[name, descr] or [name, descr, shape]"));
    let fields = ArrayBuilder::new()
        .items(field)
        .description(Some("The fields of a structured dtype"));
    OneOfBuilder::new()
        .item(descr)
        .item(fields)
        .description(Some(
            "NumPy's descr: a string, or a list of fields for a structured dtype",
        ))
        .into()
}
