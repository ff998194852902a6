//! The two layers of the contract.
//!
//! - **Documented**: what the AgentGigs docs state, and only that
//!   (`specs/agentgigs.openapi.yaml`, every constraint with its `x-doc`
//!   source). A response that breaks it is a conformance failure.
//! - **Reference**: the documented contract with the choices our reference
//!   server makes where the docs are silent or conflict, written as an
//!   OpenAPI Overlay (`specs/reference.overlay.yaml`). A response that
//!   keeps the documented contract but breaks this layer *departs from the
//!   reference server*: reported, never a failure (unless `--strict`).
//!
//! [`Contract::check`] checks one response against both and keeps the two
//! lists apart; a reference finding that says what a documented one
//! already says is not repeated as a departure.

use std::path::Path;
use std::sync::Arc;

use super::overlay::Overlay;
use super::{CheckSet, ResponseView, Spec, SpecError};
use crate::finding::{Finding, FindingKind};

/// Where the documented contract lives, relative to the repository root.
pub const DOCUMENTED_SPEC: &str = "specs/agentgigs.openapi.yaml";
/// Where the reference layer lives, relative to the repository root.
pub const REFERENCE_OVERLAY: &str = "specs/reference.overlay.yaml";

/// The documented contract and, optionally, the reference layer over it.
#[derive(Debug, Clone)]
pub struct Contract {
    documented: Arc<Spec>,
    reference: Option<Arc<Spec>>,
}

/// What [`Contract::check`] found in one response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContractCheck {
    /// `METHOD /path/{template}` of the operation matched (documented
    /// first, else the reference layer's).
    pub operation: Option<String>,
    /// Breaks of the documented contract: conformance failures.
    pub findings: Vec<Finding>,
    /// Breaks of the reference layer only: departures from the reference server.
    pub departures: Vec<Finding>,
}

impl From<Arc<Spec>> for Contract {
    fn from(spec: Arc<Spec>) -> Self {
        Contract::documented_only(spec)
    }
}

impl From<Spec> for Contract {
    fn from(spec: Spec) -> Self {
        Contract::documented_only(Arc::new(spec))
    }
}

impl Contract {
    /// A contract with no reference layer: nothing can depart from it.
    pub fn documented_only(spec: Arc<Spec>) -> Self {
        Contract {
            documented: spec,
            reference: None,
        }
    }

    /// A contract from a documented spec and an already built reference spec.
    pub fn new(documented: Arc<Spec>, reference: Option<Arc<Spec>>) -> Self {
        Contract { documented, reference }
    }

    /// Loads the documented spec and, when given, applies the overlay to a
    /// copy of it to build the reference layer.
    pub fn load(documented: &Path, overlay: Option<&Path>) -> Result<Contract, SpecError> {
        let spec = Arc::new(Spec::load(documented)?);
        let Some(overlay_path) = overlay else {
            return Ok(Contract::documented_only(spec));
        };
        let origin = overlay_path.display().to_string();
        let text = std::fs::read_to_string(overlay_path).map_err(|source| SpecError::Io {
            path: origin.clone(),
            source,
        })?;
        let reference = Self::reference_of(&spec, &text, &origin)?;
        Ok(Contract::new(spec, Some(Arc::new(reference))))
    }

    /// The reference spec: `overlay_text` applied to a copy of `documented`.
    pub fn reference_of(documented: &Spec, overlay_text: &str, origin: &str) -> Result<Spec, SpecError> {
        let invalid = |e: super::overlay::OverlayError| SpecError::Invalid {
            at: origin.to_string(),
            pointer: "#".into(),
            message: e.to_string(),
        };
        let overlay = Overlay::from_text(overlay_text, origin).map_err(invalid)?;
        let mut doc = documented.document().clone();
        overlay.apply(&mut doc).map_err(invalid)?;
        Spec::from_document(doc, &format!("{origin} over {}", documented.info().path))
    }

    /// The documented contract.
    pub fn documented(&self) -> &Spec {
        &self.documented
    }

    /// The documented contract, shared.
    pub fn documented_arc(&self) -> Arc<Spec> {
        self.documented.clone()
    }

    /// The reference layer, if any.
    pub fn reference(&self) -> Option<&Spec> {
        self.reference.as_deref()
    }

    /// Checks a response to `method path` against both layers. With
    /// `check_operation`, a request that matches no operation of either
    /// layer is a failure. A route only the reference layer has (one the
    /// docs do not name) is checked against that layer alone: the target
    /// departs only where it answers differently from our reference server
    /// (the scenario lint keeps such routes out of documented checks).
    pub fn check(
        &self,
        method: &str,
        path: &str,
        resp: &ResponseView<'_>,
        checks: CheckSet,
        check_operation: bool,
    ) -> ContractCheck {
        let mut out = ContractCheck::default();
        let doc_op = self.documented.find_operation(method, path);
        let ref_op = self.reference().and_then(|r| r.find_operation(method, path));
        out.operation = doc_op.or(ref_op).map(|o| o.label());
        match doc_op {
            Some(op) => out.findings = self.documented.check_response(op, resp, checks),
            None if check_operation && ref_op.is_none() => {
                out.findings.push(
                    Finding::new(
                        FindingKind::UndocumentedOperation,
                        format!("`{method} {path}` matches no operation in the spec"),
                    )
                    .actual(format!("{method} {path}")),
                );
            }
            None => {}
        }
        if let (Some(reference), Some(op)) = (self.reference(), ref_op) {
            let said: Vec<(FindingKind, Option<String>)> =
                out.findings.iter().map(|f| (f.kind, f.body_pointer.clone())).collect();
            for f in reference.check_response(op, resp, checks) {
                let key = (f.kind, f.body_pointer.clone());
                if !said.contains(&key) && !out.departures.contains(&f) {
                    out.departures.push(f);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DOC: &str = r#"
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /api/jobs:
    post:
      responses:
        '2XX':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Job'}
        '4XX':
          description: error
          content:
            application/json:
              schema:
                type: object
                required: [error]
                properties: {error: {type: string}, code: {type: string, nullable: true}}
components:
  schemas:
    Job:
      type: object
      required: [id]
      properties: {id: {type: string}, status: {type: string}}
"#;

    const OVERLAY: &str = r#"
overlay: 1.0.0
actions:
  - target: $.paths['/api/jobs'].post.responses
    update:
      '201': {$ref: '#/components/x-created'}
  - target: $.paths['/api/jobs'].post.responses['2XX']
    remove: true
  - target: $.components
    update:
      x-created:
        description: created
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Job'}
  - target: $.components.schemas.Job.required
    update: [status]
  - target: $.paths
    update:
      /api/jobs/{id}/attachments:
        post:
          responses:
            '201': {description: ok}
"#;

    fn contract() -> Contract {
        let doc = Spec::from_text(DOC, "doc.yaml").unwrap();
        let reference = Contract::reference_of(&doc, OVERLAY, "ref.yaml").unwrap();
        Contract::new(Arc::new(doc), Some(Arc::new(reference)))
    }

    fn check(c: &Contract, method: &str, path: &str, status: u16, body: serde_json::Value) -> ContractCheck {
        let raw = body.to_string();
        let resp = ResponseView {
            status,
            headers: &[],
            content_type: Some("application/json"),
            json: Some(&body),
            raw: raw.as_bytes(),
        };
        c.check(method, path, &resp, CheckSet::default(), true)
    }

    #[test]
    fn a_reference_choice_missed_is_a_departure_not_a_failure() {
        let c = contract();
        let r = check(&c, "POST", "/api/jobs", 200, json!({"id": "j1"}));
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let kinds: Vec<FindingKind> = r.departures.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&FindingKind::UndocumentedStatus), "{:?}", r.departures);
        let r = check(&c, "POST", "/api/jobs", 201, json!({"id": "j1"}));
        assert!(r.findings.is_empty());
        assert_eq!(r.departures.len(), 1, "{:?}", r.departures);
        assert_eq!(r.departures[0].kind, FindingKind::Schema);
        let r = check(&c, "POST", "/api/jobs", 201, json!({"id": "j1", "status": "open"}));
        assert!(r.findings.is_empty() && r.departures.is_empty(), "{r:?}");
    }

    #[test]
    fn a_documented_break_is_a_failure_and_is_not_repeated_as_a_departure() {
        let c = contract();
        let r = check(&c, "POST", "/api/jobs", 201, json!({"status": "open"}));
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        assert!(r.departures.is_empty(), "{:?}", r.departures);
        let r = check(&c, "POST", "/api/jobs", 500, json!({"error": "boom"}));
        assert_eq!(r.findings[0].kind, FindingKind::UndocumentedStatus);
        assert!(r.departures.is_empty(), "{:?}", r.departures);
    }

    #[test]
    fn routes_the_docs_do_not_name() {
        let c = contract();
        // A route only the reference layer has: checked against it alone.
        let r = check(&c, "POST", "/api/jobs/x/attachments", 201, json!({}));
        assert!(r.findings.is_empty() && r.departures.is_empty(), "{r:?}");
        assert_eq!(r.operation.as_deref(), Some("POST /api/jobs/{id}/attachments"));
        let r = check(&c, "POST", "/api/jobs/x/attachments", 200, json!({}));
        assert!(r.findings.is_empty());
        assert_eq!(r.departures[0].kind, FindingKind::UndocumentedStatus, "{r:?}");
        let r = check(&c, "GET", "/api/nowhere", 200, json!({}));
        assert_eq!(r.findings[0].kind, FindingKind::UndocumentedOperation);
        let only = Contract::documented_only(c.documented_arc());
        let r = check(&only, "POST", "/api/jobs", 200, json!({"id": "j1"}));
        assert!(r.findings.is_empty() && r.departures.is_empty());
    }
}
