//! Events: `events.k8s.io/v1` and core `v1` are two views of one collection.

mod common;

use common::{create, sandbox_with_gizmos};
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as NewEvent;
use kube::api::{Api, ListParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::Resource;

#[tokio::test]
async fn recorder_events_are_listed_by_both_event_apis() {
    let (sandbox, gizmos) = sandbox_with_gizmos().await;
    let g = create(&gizmos, "a", 1).await;
    let recorder = Recorder::new(
        sandbox.client(),
        Reporter {
            controller: "gizmo-ctrl".into(),
            instance: None,
        },
    );
    let event = Event {
        type_: EventType::Warning,
        reason: "Broken".into(),
        note: Some("it broke".into()),
        action: "Check".into(),
        secondary: None,
    };
    recorder.publish(&event, &g.object_ref(&())).await.unwrap();

    let new_api: Api<NewEvent> = Api::default_namespaced(sandbox.client());
    let listed = new_api.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].note.as_deref(), Some("it broke"));
    assert_eq!(
        listed.items[0]
            .regarding
            .as_ref()
            .and_then(|r| r.name.as_deref()),
        Some("a")
    );

    let core_api: Api<CoreEvent> = Api::default_namespaced(sandbox.client());
    let by_object = core_api
        .list(&ListParams::default().fields("involvedObject.name=a,involvedObject.kind=Gizmo"))
        .await
        .unwrap();
    assert_eq!(by_object.items.len(), 1);
    let core = &by_object.items[0];
    assert_eq!(core.message.as_deref(), Some("it broke"));
    assert_eq!(core.reason.as_deref(), Some("Broken"));
    assert_eq!(core.type_.as_deref(), Some("Warning"));
    assert_eq!(core.reporting_component.as_deref(), Some("gizmo-ctrl"));
}
