//! How a list merges under server-side apply: atomically, as a set of scalars,
//! or as a map of items keyed by some of their fields.

use serde_json::Value;

/// One step on the way to a value, used to find the schema that describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Seg {
    Field(String),
    /// Into the items of a list.
    Item,
}

/// The merge behaviour of one list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// Replaced whole; one owner for the entire list.
    Atomic,
    /// Scalars merged by value (`x-kubernetes-list-type: set`).
    Set,
    /// Objects merged by the listed key fields (`x-kubernetes-list-type: map`).
    Map(Vec<String>),
}

/// Answers [`ListKind`] questions for one resource type, from its CRD schema
/// when there is one and from well-known conventions otherwise.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ListTypes<'a> {
    schema: Option<&'a Value>,
}

impl<'a> ListTypes<'a> {
    pub(crate) fn new(schema: Option<&'a Value>) -> Self {
        Self { schema }
    }

    /// The merge behaviour of the list at `path`.
    pub(crate) fn kind(self, path: &[Seg]) -> ListKind {
        if let [Seg::Field(m), Seg::Field(f)] = path {
            if m == "metadata" && f == "finalizers" {
                return ListKind::Set;
            }
            if m == "metadata" && f == "ownerReferences" {
                return ListKind::Map(vec!["uid".to_owned()]);
            }
        }
        if let Some(kind) = self.schema.and_then(|s| declared(s, path)) {
            return kind;
        }
        // Convention: condition lists are keyed by `type` in every Kubernetes API.
        if matches!(path.last(), Some(Seg::Field(f)) if f == "conditions") {
            return ListKind::Map(vec!["type".to_owned()]);
        }
        ListKind::Atomic
    }
}

/// The list type the schema declares at `path`, if the schema reaches that far and says.
fn declared(schema: &Value, path: &[Seg]) -> Option<ListKind> {
    let mut node = schema;
    for seg in path {
        node = match seg {
            Seg::Field(name) => node
                .pointer(&format!("/properties/{}", escape_pointer(name)))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?,
            Seg::Item => node.get("items")?,
        };
    }
    match node.get("x-kubernetes-list-type")?.as_str()? {
        "atomic" => Some(ListKind::Atomic),
        "set" => Some(ListKind::Set),
        "map" => {
            let keys: Vec<String> = node
                .get("x-kubernetes-list-map-keys")?
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect();
            (!keys.is_empty()).then_some(ListKind::Map(keys))
        }
        _ => None,
    }
}

fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(parts: &[&str]) -> Vec<Seg> {
        parts
            .iter()
            .map(|p| {
                if *p == "[]" {
                    Seg::Item
                } else {
                    Seg::Field((*p).to_owned())
                }
            })
            .collect()
    }

    #[test]
    fn list_kinds_come_from_schema_then_conventions() {
        let schema = json!({"properties": {"spec": {"properties": {
            "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port"],
                      "items": {"properties": {"tags": {"x-kubernetes-list-type": "set"}}}},
            "conditions": {"x-kubernetes-list-type": "atomic"},
        }}}});
        let lists = ListTypes::new(Some(&schema));
        let cases = [
            (vec!["spec", "ports"], ListKind::Map(vec!["port".into()])),
            (vec!["spec", "ports", "[]", "tags"], ListKind::Set),
            (vec!["spec", "conditions"], ListKind::Atomic),
            (
                vec!["status", "conditions"],
                ListKind::Map(vec!["type".into()]),
            ),
            (vec!["metadata", "finalizers"], ListKind::Set),
            (vec!["spec", "other"], ListKind::Atomic),
        ];
        for (p, want) in cases {
            assert_eq!(lists.kind(&path(&p)), want, "{p:?}");
        }
    }
}
