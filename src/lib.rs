//! cde-operator: keeps Productsup CDE connector versions in the deployment stage a cluster declares.

pub mod cde;
