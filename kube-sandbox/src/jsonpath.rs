//! The `JSONPath` subset used by CRD `additionalPrinterColumns`: `.a.b`,
//! `.a[0].b`, `.a[*].b`, `['a.b']`, and filters such as
//! `.status.conditions[?(@.type=="Ready")].status` (`==`, `!=`, or a bare
//! `@.path` for existence).
//!
//! Limitation: no recursive descent (`..`), slices, unions or functions; such
//! expressions fail to parse and the column shows nothing.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    Wildcard,
    Filter {
        path: Vec<String>,
        test: Option<(bool, Value)>,
    },
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct JsonPath {
    steps: Vec<Step>,
}

fn parse_literal(s: &str) -> Result<Value, String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Ok(Value::String(inner.to_owned()));
    }
    serde_json::from_str(s).map_err(|_| format!("unsupported literal {s:?}"))
}

fn parse_filter(expr: &str) -> Result<Step, String> {
    let (lhs, test) = if let Some((l, r)) = expr.split_once("==") {
        (l, Some((true, parse_literal(r)?)))
    } else if let Some((l, r)) = expr.split_once("!=") {
        (l, Some((false, parse_literal(r)?)))
    } else {
        (expr, None)
    };
    let path = lhs
        .trim()
        .strip_prefix('@')
        .ok_or_else(|| format!("filter must start with @: {expr:?}"))?;
    let path = path
        .split('.')
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Step::Filter { path, test })
}

impl JsonPath {
    pub(crate) fn parse(expr: &str) -> Result<Self, String> {
        let mut s = expr.trim();
        if let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            s = inner.trim();
        }
        s = s.strip_prefix('$').unwrap_or(s);
        let mut steps = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if rest.starts_with("..") {
                return Err("recursive descent is not supported".into());
            }
            if let Some(r) = rest.strip_prefix('.') {
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = &r[..end];
                if name == "*" {
                    steps.push(Step::Wildcard);
                } else if !name.is_empty() {
                    steps.push(Step::Field(name.to_owned()));
                }
                rest = &r[end..];
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = if r.starts_with("?(") {
                    r.find(")]").map(|i| i + 1)
                } else {
                    r.find(']')
                }
                .ok_or_else(|| format!("unterminated [ in {expr:?}"))?;
                let inner = r[..end].trim();
                steps.push(if inner == "*" {
                    Step::Wildcard
                } else if let Some(f) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
                    parse_filter(f)?
                } else if let Ok(i) = inner.parse::<usize>() {
                    Step::Index(i)
                } else if let Value::String(name) = parse_literal(inner)? {
                    Step::Field(name)
                } else {
                    return Err(format!("unsupported subscript [{inner}]"));
                });
                rest = &r[end + 1..];
            } else {
                return Err(format!("unexpected {rest:?} in {expr:?}"));
            }
        }
        Ok(Self { steps })
    }

    /// Every value the expression selects in `root`, in document order.
    pub(crate) fn evaluate<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for node in current {
                match step {
                    Step::Field(f) => next.extend(node.get(f)),
                    Step::Index(i) => next.extend(node.get(*i)),
                    Step::Wildcard => match node {
                        Value::Array(items) => next.extend(items.iter()),
                        Value::Object(m) => next.extend(m.values()),
                        _ => {}
                    },
                    Step::Filter { path, test } => {
                        let Some(items) = node.as_array() else {
                            continue;
                        };
                        next.extend(items.iter().filter(|item| {
                            let found = path.iter().try_fold(*item, |n, p| n.get(p));
                            match (found, test) {
                                (found, None) => found.is_some(),
                                (Some(v), Some((true, want))) => v == want,
                                (v, Some((false, want))) => v != Some(want),
                                (None, Some((true, _))) => false,
                            }
                        }));
                    }
                }
            }
            current = next;
        }
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn printer_column_expressions_select_expected_values() {
        let obj = json!({
            "spec": {"size": 3, "items": [{"name": "a"}, {"name": "b"}], "dotted.key": "d"},
            "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}
        });
        let cases: &[(&str, Vec<Value>)] = &[
            (".spec.size", vec![json!(3)]),
            ("{.spec.size}", vec![json!(3)]),
            (".spec.items[1].name", vec![json!("b")]),
            (".spec.items[*].name", vec![json!("a"), json!("b")]),
            (".spec['dotted.key']", vec![json!("d")]),
            (
                r#".status.conditions[?(@.type=="Ready")].status"#,
                vec![json!("True")],
            ),
            (
                ".status.conditions[?(@.type!='Ready')].type",
                vec![json!("Synced")],
            ),
            (".spec.missing", vec![]),
        ];
        for (expr, want) in cases {
            let path = JsonPath::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            let got: Vec<Value> = path.evaluate(&obj).into_iter().cloned().collect();
            assert_eq!(&got, want, "{expr}");
        }
        assert!(JsonPath::parse("..name").is_err());
    }
}
