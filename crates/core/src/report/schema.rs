//! The JSON Schema of the report (schema_version 1), generated from the
//! model in [`super::model`] so the two cannot disagree. The packages ship
//! it as `/usr/share/barbican-audit/report.schema.json`; the repository
//! keeps a copy in `packaging/report.schema.json` and a test fails when the
//! model changes without that copy (regenerate it with
//! `UPDATE_SCHEMA=1 cargo test --test schema`).
//!
//! The collector decodes reports with the same model, so the first thing
//! its decoder refuses (src/collector/ingest.rs names it by JSON pointer)
//! is the first place the report breaks this schema.
use super::Report;

/// The schema as a JSON value (draft 2020-12).
pub fn schema() -> serde_json::Value {
    let mut s = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Report>();
    s.insert(
        "$id".into(),
        "https://barbican-audit.invalid/report.schema.json".into(),
    );
    s.insert(
        "title".into(),
        "barbican-audit report, schema_version 1".into(),
    );
    s.to_value()
}

/// The schema as the packages ship it: pretty JSON, trailing newline.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema())
        // A schemars schema is plain JSON with string keys: it serialises.
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schema_pins_the_version_and_requires_the_findings() {
        let s = schema();
        assert_eq!(
            s["$schema"],
            json!("https://json-schema.org/draft/2020-12/schema")
        );
        assert_eq!(s["properties"]["schema_version"]["const"], json!(1));
        assert!(s["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("findings"))));
        // Status values come from the enum, not from free text.
        let status = &s["$defs"]["Status"];
        assert!(status.to_string().contains("\"waived\""), "{status}");
        assert!(schema_text().ends_with("}\n"));
    }
}
