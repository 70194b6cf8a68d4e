//! The harness against a real kube-apiserver and etcd.
//!
//! Opt-in: a test that needs the servers runs only when [`Binaries::locate_or_skip`] finds
//! them (`KUBE_ENVTEST_BIN_DIR`, or the cache `kube-envtest/build-binaries.sh` fills);
//! otherwise it prints why it was skipped and passes, so `cargo test` passes on a machine
//! without Go.

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use kube_envtest::{Binaries, Envtest, EnvtestError, EnvtestOptions, TokenUser};

/// Starts an envtest; a failure panics with the error's message, which carries the end of
/// the failing server's log.
async fn start(options: EnvtestOptions) -> Envtest {
    match Envtest::start(options).await {
        Ok(envtest) => envtest,
        Err(error) => panic!("{error}"),
    }
}

fn config_map(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        data: Some([("connector".to_owned(), "acme-feed".to_owned())].into()),
        ..ConfigMap::default()
    }
}

async fn whoami(client: kube::Client) -> (String, Vec<String>) {
    let review = Api::<SelfSubjectReview>::all(client)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .unwrap();
    let user = review.status.unwrap().user_info.unwrap();
    (user.username.unwrap(), user.groups.unwrap_or_default())
}

#[tokio::test]
async fn start_without_binaries_names_the_build_script() {
    let empty = tempfile::tempdir().unwrap();
    let error = Envtest::start(EnvtestOptions {
        binaries_dir: Some(empty.path().to_path_buf()),
        ..EnvtestOptions::default()
    })
    .await
    .unwrap_err();
    assert!(matches!(error, EnvtestError::Binaries(_)), "{error}");
    assert!(
        error.to_string().contains("kube-envtest/build-binaries.sh"),
        "{error}"
    );
}

#[tokio::test]
async fn admin_creates_and_reads_back_an_object_and_shutdown_stops_both_processes() {
    let test = "admin_creates_and_reads_back_an_object_and_shutdown_stops_both_processes";
    if Binaries::locate_or_skip(test).is_none() {
        return;
    }
    let envtest = start(EnvtestOptions::default()).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(envtest.client(), "default");

    let created = config_maps
        .create(&PostParams::default(), &config_map("acme"))
        .await
        .unwrap();
    let read = config_maps.get("acme").await.unwrap();

    assert!(
        created.metadata.uid.is_some(),
        "a real server assigns a uid"
    );
    assert_eq!(read.metadata.uid, created.metadata.uid);
    assert_eq!(read.data, config_map("acme").data);
    assert!(envtest.kubeconfig_path().is_file());

    let (Some(apiserver), Some(etcd)) = envtest.pids() else {
        panic!("both processes run");
    };
    let dir = envtest.dir().to_path_buf();
    envtest.shutdown().unwrap();
    for pid in [apiserver, etcd] {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} still exists"
        );
    }
    assert!(!dir.exists(), "the directory is removed");
}

#[tokio::test]
async fn identities_are_authenticated_and_authorized_by_the_real_server() {
    let test = "identities_are_authenticated_and_authorized_by_the_real_server";
    if Binaries::locate_or_skip(test).is_none() {
        return;
    }
    let envtest = start(EnvtestOptions {
        users: vec![TokenUser::new("carol", "carol-token", ["auditors"])],
        ..EnvtestOptions::default()
    })
    .await;
    let admin = envtest.client();

    // A static token user is who the token file says, with its groups.
    let carol = envtest.client_for_token("carol-token").await.unwrap();
    let (name, groups) = whoami(carol).await;
    assert_eq!(name, "carol");
    assert!(groups.contains(&"auditors".to_owned()), "{groups:?}");

    // An impersonated user without a role is forbidden; a RoleBinding lets it read.
    let alice = envtest.client_as("alice", &["team-a"]).await.unwrap();
    let alice_config_maps: Api<ConfigMap> = Api::namespaced(alice, "default");
    let forbidden = alice_config_maps
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&forbidden, kube::Error::Api(status) if status.code == 403),
        "{forbidden}"
    );
    grant_config_map_reading(&admin, "team-a").await;
    // RBAC is enforced from an informer cache; give it a moment to see the binding.
    let mut allowed = false;
    for _ in 0..50 {
        if alice_config_maps.list(&ListParams::default()).await.is_ok() {
            allowed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(allowed, "the RoleBinding lets team-a list ConfigMaps");

    // A ServiceAccount token from the TokenRequest API authenticates as that account.
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some("operators".to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let account = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("runner".to_owned()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    };
    Api::<ServiceAccount>::namespaced(admin.clone(), "operators")
        .create(&PostParams::default(), &account)
        .await
        .unwrap();
    let runner = envtest
        .client_for_service_account("operators", "runner")
        .await
        .unwrap();
    let (name, _) = whoami(runner).await;
    assert_eq!(name, "system:serviceaccount:operators:runner");
}

async fn grant_config_map_reading(admin: &kube::Client, group: &str) {
    let role = Role {
        metadata: ObjectMeta {
            name: Some("config-map-reader".to_owned()),
            ..ObjectMeta::default()
        },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["configmaps".to_owned()]),
            verbs: vec!["get".to_owned(), "list".to_owned()],
            ..PolicyRule::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("config-map-reader".to_owned()),
            ..ObjectMeta::default()
        },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "Role".to_owned(),
            name: "config-map-reader".to_owned(),
        },
        subjects: Some(vec![Subject {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "Group".to_owned(),
            name: group.to_owned(),
            namespace: None,
        }]),
    };
    Api::<Role>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &role)
        .await
        .unwrap();
    Api::<RoleBinding>::namespaced(admin.clone(), "default")
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
}
