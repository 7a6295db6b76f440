//! CSV rows (RFC 4180): every field quoted, quotes doubled, so commas,
//! quotes and CR/LF in node data stay inside their field. A field that a
//! spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first)
//! gets a leading `'`.
pub fn row(fields: &[&str]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            out.push('\'');
        }
        out.push_str(&f.replace('"', "\"\""));
        out.push('"');
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_and_defuses() {
        assert_eq!(
            super::row(&["a,b", "say \"hi\"", "x\r\ny", "=cmd()", "plain"]),
            "\"a,b\",\"say \"\"hi\"\"\",\"x\r\ny\",\"'=cmd()\",\"plain\"\r\n"
        );
    }
}
