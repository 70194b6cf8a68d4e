//! Query-string parameters the sandbox understands.

/// Parsed query parameters of one request; unknown ones are ignored.
#[derive(Clone, Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // Mirrors the API's boolean parameters one to one.
pub(crate) struct Query {
    pub watch: bool,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub resource_version: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: bool,
    pub field_manager: Option<String>,
    pub force: bool,
    pub dry_run: bool,
    pub include_object: Option<String>,
}

fn truthy(v: &str) -> bool {
    matches!(v, "true" | "1")
}

impl Query {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let mut q = Self::default();
        let Some(raw) = raw else {
            return q;
        };
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            let v = v.into_owned();
            match k.as_ref() {
                "watch" => q.watch = truthy(&v),
                "labelSelector" => q.label_selector = Some(v),
                "fieldSelector" => q.field_selector = Some(v),
                "resourceVersion" => q.resource_version = Some(v),
                "limit" => q.limit = v.parse().ok().filter(|l| *l > 0),
                "continue" => q.continue_token = Some(v).filter(|c| !c.is_empty()),
                "timeoutSeconds" => q.timeout_seconds = v.parse().ok(),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = truthy(&v),
                "sendInitialEvents" => q.send_initial_events = truthy(&v),
                "fieldManager" => q.field_manager = Some(v).filter(|m| !m.is_empty()),
                "force" => q.force = truthy(&v),
                "dryRun" => q.dry_run = v == "All",
                "includeObject" => q.include_object = Some(v),
                _ => {}
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_rs_style_query_with_leading_ampersand_parses() {
        let q = Query::parse(Some(
            "&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion=1005&labelSelector=app%3Dweb",
        ));
        assert!(q.watch && q.allow_watch_bookmarks);
        assert_eq!(q.timeout_seconds, Some(290));
        assert_eq!(q.resource_version.as_deref(), Some("1005"));
        assert_eq!(q.label_selector.as_deref(), Some("app=web"));
    }
}
