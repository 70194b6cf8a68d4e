//! Object lifecycle basics: metadata stamping, conflicts, namespaces, lists.

mod common;

use common::{api_code, create, gizmo, sandbox_with_gizmos};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use kube_sandbox::Sandbox;
use serde_json::json;

fn config_map(name: &str) -> ConfigMap {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some(name.into());
    cm
}

#[tokio::test]
async fn created_objects_get_uid_resource_version_and_generation_one() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let g = create(&gizmos, "a", 1).await;
    assert!(g.metadata.uid.is_some());
    assert!(g.metadata.creation_timestamp.is_some());
    assert_eq!(g.metadata.generation, Some(1));
    let rv: u64 = g.resource_version().unwrap().parse().unwrap();
    assert!(
        rv > 1000,
        "revisions start above the never-served range, got {rv}"
    );
}

#[tokio::test]
async fn creating_an_existing_name_is_409_already_exists() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let err = gizmos
        .create(&PostParams::default(), &gizmo("a", 1))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(409));
    let kube::Error::Api(status) = err else {
        unreachable!()
    };
    assert_eq!(status.reason, "AlreadyExists");
}

#[tokio::test]
async fn replace_with_stale_resource_version_is_409_conflict() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let original = create(&gizmos, "a", 1).await;
    let mut fresh = original.clone();
    fresh.spec.size = 2;
    let replaced = gizmos
        .replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert_eq!(replaced.metadata.generation, Some(2));

    let mut stale = original;
    stale.spec.size = 3;
    let err = gizmos
        .replace("a", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(409));
    assert_eq!(gizmos.get("a").await.unwrap().spec.size, 2);
}

#[tokio::test]
async fn custom_resource_replace_without_resource_version_is_rejected() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let err = gizmos
        .replace("a", &PostParams::default(), &gizmo("a", 5))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(422));
}

#[tokio::test]
async fn metadata_changes_keep_generation_and_spec_changes_bump_it() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    create(&gizmos, "a", 1).await;
    let labelled = gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    let resized = gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(resized.metadata.generation, Some(2));
}

#[tokio::test]
async fn no_op_patch_keeps_the_resource_version() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    let g = create(&gizmos, "a", 1).await;
    let same = gizmos
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 1}})),
        )
        .await
        .unwrap();
    assert_eq!(same.resource_version(), g.resource_version());
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_404() {
    let sandbox = Sandbox::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(sandbox.client(), "nope");
    let err = cms
        .create(&PostParams::default(), &config_map("c"))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(404));
    let kube::Error::Api(status) = err else {
        unreachable!()
    };
    assert!(
        status.message.contains("namespaces \"nope\" not found"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn default_and_kube_system_namespaces_exist_at_start() {
    let sandbox = Sandbox::start().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(sandbox.client());
    let names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(ResourceExt::name_any)
        .collect();
    assert_eq!(names, vec!["default", "kube-system"]);
}

#[tokio::test]
async fn generate_name_appends_a_random_suffix() {
    let sandbox = Sandbox::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(sandbox.client());
    let mut cm = ConfigMap::default();
    cm.metadata.generate_name = Some("job-".into());
    let created = cms.create(&PostParams::default(), &cm).await.unwrap();
    let name = created.name_any();
    assert!(name.starts_with("job-") && name.len() == 9, "{name}");
}

#[tokio::test]
async fn lists_filter_by_label_and_field_and_paginate() {
    let (_sandbox, gizmos) = sandbox_with_gizmos().await;
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "web")] {
        let mut g = gizmo(name, 1);
        g.metadata.labels = Some([("tier".to_owned(), tier.to_owned())].into());
        gizmos.create(&PostParams::default(), &g).await.unwrap();
    }
    let names = |l: kube::core::ObjectList<common::Gizmo>| {
        l.items
            .iter()
            .map(ResourceExt::name_any)
            .collect::<Vec<_>>()
    };
    let web = gizmos
        .list(&ListParams::default().labels("tier in (web),!missing"))
        .await
        .unwrap();
    assert_eq!(names(web), vec!["a", "c"]);
    let not_a = gizmos
        .list(&ListParams::default().fields("metadata.name!=a"))
        .await
        .unwrap();
    assert_eq!(names(not_a), vec!["b", "c"]);

    let first = gizmos.list(&ListParams::default().limit(2)).await.unwrap();
    let token = first.metadata.continue_.clone().expect("more pages");
    let first_rv = first.metadata.resource_version.clone();
    assert_eq!(names(first), vec!["a", "b"]);
    let second = gizmos
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(second.metadata.resource_version, first_rv);
    assert!(second
        .metadata
        .continue_
        .clone()
        .unwrap_or_default()
        .is_empty());
    assert_eq!(names(second), vec!["c"]);
}

#[tokio::test]
async fn deleting_a_namespace_removes_it_and_its_contents() {
    let sandbox = Sandbox::start().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(sandbox.client());
    let mut ns = Namespace::default();
    ns.metadata.name = Some("scratch".into());
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(sandbox.client(), "scratch");
    cms.create(&PostParams::default(), &config_map("c"))
        .await
        .unwrap();

    namespaces
        .delete("scratch", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(
        api_code(&namespaces.get("scratch").await.unwrap_err()),
        Some(404)
    );
    assert_eq!(api_code(&cms.get("c").await.unwrap_err()), Some(404));
    let err = namespaces
        .delete("default", &DeleteParams::default())
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), Some(403));
}
