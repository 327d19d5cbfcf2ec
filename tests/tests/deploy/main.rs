//! The deployment files checked against the code, without a Docker engine
//! or a cluster: the configuration reference (`config_reference`), the
//! container image and compose stack (`compose`), and the Kubernetes
//! manifests (`k8s`). YAML syntax and style are `scripts/lint-yaml`'s.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

mod compose;
mod config_reference;
mod k8s;
mod support;
