//! Two objects that declare the same connector version: the older one keeps it.

use kube::ResourceExt;

use crate::resource::{ConnectorVersion, Declaration};

/// The `namespace/name` of an older object that declares the same connector and major
/// version as `me`, if there is one. Objects being deleted and objects whose spec does not
/// validate do not count. Ties on creation time go to the smaller `namespace/name`.
pub fn older_claimant<'a>(
    me: &ConnectorVersion,
    declaration: &Declaration,
    others: impl IntoIterator<Item = &'a ConnectorVersion>,
) -> Option<String> {
    let key = |o: &ConnectorVersion| {
        (
            o.metadata.creation_timestamp.clone().map(|t| t.0),
            format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any()),
        )
    };
    let mine = key(me);
    others
        .into_iter()
        .filter(|o| o.metadata.uid != me.metadata.uid && o.metadata.deletion_timestamp.is_none())
        .filter(|o| {
            o.spec
                .validate()
                .is_ok_and(|d| d.connector == declaration.connector && d.major == declaration.major)
        })
        .map(key)
        .filter(|k| *k < mine)
        .min()
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::ConnectorVersionSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn cv(name: &str, created_secs: i64, connector: &str, version: i64) -> ConnectorVersion {
        let mut o = ConnectorVersion::new(
            name,
            ConnectorVersionSpec {
                connector_id: connector.into(),
                version,
                desired_state: "dev".into(),
                credentials: None,
                suspend: false,
                interval: None,
            },
        );
        o.metadata.namespace = Some("team".into());
        o.metadata.uid = Some(format!("uid-{name}"));
        o.metadata.creation_timestamp =
            Some(Time(jiff::Timestamp::from_second(created_secs).unwrap()));
        o
    }

    const C: &str = "0190f1a2-3b4c-7d5e-8f60-7a8b9c0d1e2f";

    #[test]
    fn the_newer_object_names_the_older_one() {
        let old = cv("old", 100, C, 1);
        let new = cv("new", 200, C, 1);
        let d = new.spec.validate().unwrap();
        assert_eq!(
            older_claimant(&new, &d, [&old, &new]),
            Some("team/old".into())
        );
        let d = old.spec.validate().unwrap();
        assert_eq!(older_claimant(&old, &d, [&old, &new]), None);
    }

    #[test]
    fn another_major_or_an_invalid_object_is_no_conflict() {
        let old_v2 = cv("old-v2", 100, C, 2);
        let invalid = cv("broken", 50, C, 0);
        let new = cv("new", 200, C, 1);
        let d = new.spec.validate().unwrap();
        assert_eq!(older_claimant(&new, &d, [&old_v2, &invalid, &new]), None);
    }

    #[test]
    fn equal_creation_times_are_broken_by_name() {
        let a = cv("a", 100, C, 1);
        let b = cv("b", 100, C, 1);
        let d = b.spec.validate().unwrap();
        assert_eq!(older_claimant(&b, &d, [&a, &b]), Some("team/a".into()));
    }
}
