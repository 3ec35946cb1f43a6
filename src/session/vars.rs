//! `${NAME}` and `${env:VAR}` in a line: a script's variables and the environment, as headers,
//! commands and requests use them. Below the script language, since settings use it too.
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;

/// A `${...}` that cannot be replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarError {
    Unclosed,
    NoEnv(String),
    Undefined(String),
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VarError::Unclosed => f.write_str("unclosed ${"),
            VarError::NoEnv(var) => write!(f, "environment variable {var} is not set"),
            VarError::Undefined(name) => write!(
                f,
                "undefined variable ${{{name}}} (let {name} = $.path defines it)"
            ),
        }
    }
}

impl std::error::Error for VarError {}

/// Replaces `${NAME}` with a variable (strings as they are, other values as JSON) and
/// `${env:VAR}` with the environment's value.
pub fn substitute(line: &str, vars: &HashMap<String, Value>) -> Result<String, VarError> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or(VarError::Unclosed)?;
        let name = &after[..end];
        let value = match name.strip_prefix("env:") {
            Some(var) => std::env::var(var).map_err(|_| VarError::NoEnv(var.to_string()))?,
            None => match vars.get(name) {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => return Err(VarError::Undefined(name.to_string())),
            },
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn variables_and_the_environment() {
        let vars = HashMap::from([("n".to_string(), json!(5)), ("s".to_string(), json!("x"))]);
        assert_eq!(
            substitute("{\"a\": ${n}, \"b\": \"${s}\"}", &vars).unwrap(),
            "{\"a\": 5, \"b\": \"x\"}"
        );
        assert!(substitute("${nope}", &vars)
            .unwrap_err()
            .to_string()
            .contains("undefined variable ${nope}"));
        std::env::set_var("RPCSH_TEST_VAR", "v");
        assert_eq!(substitute("${env:RPCSH_TEST_VAR}", &vars).unwrap(), "v");
    }
}
