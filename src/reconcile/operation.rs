//! The remote mutations the reconciler can decide on.

use std::fmt;

use crate::cde::endpoints::Endpoint;

/// One remote mutation. Each maps to one endpoint of the CDE table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    SyncRuntime,
    EnsureDevSite,
    PublishToPlatform,
    AssignToDevSite,
    SyncToProd,
    RecreateFromProdBackup,
    MigrationRollback,
}

impl Operation {
    pub const ALL: [Operation; 7] = [
        Operation::SyncRuntime,
        Operation::EnsureDevSite,
        Operation::PublishToPlatform,
        Operation::AssignToDevSite,
        Operation::SyncToProd,
        Operation::RecreateFromProdBackup,
        Operation::MigrationRollback,
    ];

    pub fn endpoint(self) -> Endpoint {
        match self {
            Operation::SyncRuntime => Endpoint::SyncRuntime,
            Operation::EnsureDevSite => Endpoint::EnsureDevSite,
            Operation::PublishToPlatform => Endpoint::PublishToPlatform,
            Operation::AssignToDevSite => Endpoint::AssignToDevSite,
            Operation::SyncToProd => Endpoint::SyncToProd,
            Operation::RecreateFromProdBackup => Endpoint::RecreateFromProdBackup,
            Operation::MigrationRollback => Endpoint::MigrationRollback,
        }
    }

    /// The name stored in status (`pendingOperation.name`, `lastOperation.name`).
    pub fn name(self) -> &'static str {
        self.endpoint().name()
    }

    /// The Event reason and condition reason while this call is the next step.
    pub fn reason(self) -> &'static str {
        match self {
            Operation::SyncRuntime => "SyncRuntime",
            Operation::EnsureDevSite => "EnsureDevSite",
            Operation::PublishToPlatform => "PublishToPlatform",
            Operation::AssignToDevSite => "AssignToDevSite",
            Operation::SyncToProd => "SyncToProd",
            Operation::RecreateFromProdBackup => "RecreateFromProdBackup",
            Operation::MigrationRollback => "MigrationRollback",
        }
    }

    /// A short human description for condition messages and Events.
    pub fn describe(self) -> &'static str {
        match self {
            Operation::SyncRuntime => "synchronize the built image with the runtime",
            Operation::EnsureDevSite => "ensure the dev project and site exist",
            Operation::PublishToPlatform => "create or update the connector on the dev platform",
            Operation::AssignToDevSite => "assign the connector to the dev site",
            Operation::SyncToProd => "synchronize the version to production",
            Operation::RecreateFromProdBackup => {
                "recreate prod from the configuration backed up at the last prod sync"
            }
            Operation::MigrationRollback => "roll the platform back to the legacy executable",
        }
    }

    /// Parses a name stored in status.
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
