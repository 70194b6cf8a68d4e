//! Server-side printing for `kubectl get`: `meta.k8s.io/v1` `Table` responses
//! when the client's `Accept` asks for `as=Table`.
//!
//! Custom resources get Name and their `additionalPrinterColumns` (Name and Age when they
//! declare none), as the real server prints them; built-in types get Name, a few of their
//! usual columns, and Age.
//!
//! Limitation: built-in types show only some of the columns the real server
//! prints (for example a Secret's Type but not its Data count).

use serde_json::{json, Value};

use crate::catalog::{PrinterColumn, ResourceType};
use crate::jsonpath::JsonPath;

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub(crate) fn parse(v: Option<&str>) -> Self {
        match v {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

/// Whether an `Accept` header asks for a Table.
pub(crate) fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"))
}

/// Formats the time since `timestamp` the way `kubectl` shows ages (`42s`, `5m3s`, `3h`, `12d`).
pub(crate) fn age(timestamp: &str, now: jiff::Timestamp) -> String {
    let Ok(then) = timestamp.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let secs = (now.as_second() - then.as_second()).max(0);
    let (mins, hours, days) = (secs / 60, secs / 3600, secs / 86_400);
    let with_rest = |major: i64, unit: &str, minor: i64, minor_unit: &str| {
        if minor == 0 {
            format!("{major}{unit}")
        } else {
            format!("{major}{unit}{minor}{minor_unit}")
        }
    };
    match () {
        () if secs < 120 => format!("{secs}s"),
        () if mins < 10 => with_rest(mins, "m", secs % 60, "s"),
        () if mins < 180 => format!("{mins}m"),
        () if hours < 8 => with_rest(hours, "h", mins % 60, "m"),
        () if hours < 48 => format!("{hours}h"),
        () if hours < 192 => with_rest(days, "d", hours % 24, "h"),
        () if days < 730 => format!("{days}d"),
        () if days < 8 * 365 => with_rest(days / 365, "y", days % 365, "d"),
        () => format!("{}y", days / 365),
    }
}

fn column_definitions(rt: &ResourceType) -> Vec<Value> {
    let mut columns = vec![json!({
        "name": "Name", "type": "string", "format": "name", "priority": 0,
        "description": "Name must be unique within a namespace.",
    })];
    columns.extend(rt.printer_columns.iter().map(|c| {
        json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
    }));
    if !implicit_age(rt) {
        return columns;
    }
    columns.push(json!({
        "name": "Age", "type": "date", "format": "", "priority": 0,
        "description": "CreationTimestamp is a timestamp representing the server time when this object was created.",
    }));
    columns
}

/// Whether the server adds an Age column of its own: not for a custom resource that declares
/// its columns (it lists Age itself, if it wants one).
fn implicit_age(rt: &ResourceType) -> bool {
    !rt.custom || rt.printer_columns.is_empty()
}

fn cell(column: &PrinterColumn, obj: &Value, now: jiff::Timestamp) -> Value {
    let Ok(path) = JsonPath::parse(&column.json_path) else {
        return Value::Null;
    };
    let values = path.evaluate(obj);
    let Some(first) = values.first() else {
        return Value::Null;
    };
    match column.type_.as_str() {
        "date" => first
            .as_str()
            .map_or(Value::Null, |t| Value::String(age(t, now))),
        "integer" | "number" | "boolean" if values.len() == 1 => (*first).clone(),
        _ => Value::String(
            values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

fn row(rt: &ResourceType, obj: &Value, include: IncludeObject, now: jiff::Timestamp) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let mut cells = vec![meta.get("name").cloned().unwrap_or(Value::Null)];
    cells.extend(rt.printer_columns.iter().map(|c| cell(c, obj, now)));
    if implicit_age(rt) {
        cells.push(
            meta.get("creationTimestamp")
                .and_then(Value::as_str)
                .map_or(Value::Null, |t| Value::String(age(t, now))),
        );
    }
    let mut row = json!({ "cells": cells });
    let object = match include {
        IncludeObject::None => None,
        IncludeObject::Metadata => Some(json!({
            "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
        })),
        IncludeObject::Object => Some(obj.clone()),
    };
    if let (Some(object), Some(m)) = (object, row.as_object_mut()) {
        m.insert("object".into(), object);
    }
    row
}

/// A Table of `objects` with the given list metadata.
pub(crate) fn render(
    rt: &ResourceType,
    objects: &[Value],
    list_meta: &Value,
    include: IncludeObject,
) -> Value {
    let now = jiff::Timestamp::now();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_definitions(rt),
        "rows": objects.iter().map(|o| row(rt, o, include, now)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now: jiff::Timestamp = "2024-01-10T00:00:00Z".parse().unwrap();
        let cases = [
            ("2024-01-09T23:59:18Z", "42s"),
            ("2024-01-09T23:55:00Z", "5m"),
            ("2024-01-09T23:54:57Z", "5m3s"),
            ("2024-01-09T21:00:00Z", "3h"),
            ("2024-01-09T20:30:00Z", "3h30m"),
            ("2024-01-08T00:00:00Z", "2d"),
            ("2023-12-29T00:00:00Z", "12d"),
            ("garbage", "<unknown>"),
        ];
        for (ts, want) in cases {
            assert_eq!(age(ts, now), want, "{ts}");
        }
    }

    #[test]
    fn table_accept_header_is_detected_only_when_preferred() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wants_table("application/json"));
    }
}
