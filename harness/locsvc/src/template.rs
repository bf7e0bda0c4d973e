//! `${NAME}` template variables in data files.

use crate::LocsvcError;

/// Replaces every `${NAME}` in `text` by its value from `vars`; a variable without a value is
/// an error (so that a forgotten port never reaches a PSAP URI). `$` not followed by `{` is
/// kept as it is.
pub fn fill_template(text: &str, vars: &[(&str, &str)]) -> Result<String, LocsvcError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let name = &after[..end];
        let value = vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| LocsvcError::MissingVariable(name.to_owned()))?;
        out.push_str(value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_rejects_missing() {
        let t = "sip:psap-a@${HOST}:${PORT};x=$y";
        assert_eq!(
            fill_template(t, &[("HOST", "127.0.0.1"), ("PORT", "5070")]).ok(),
            Some("sip:psap-a@127.0.0.1:5070;x=$y".to_owned())
        );
        assert!(matches!(
            fill_template(t, &[("HOST", "h")]),
            Err(LocsvcError::MissingVariable(v)) if v == "PORT"
        ));
    }
}
