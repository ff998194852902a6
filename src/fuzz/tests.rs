//! Generation against the real contract: every body a strategy draws
//! validates against the operation's request schema, and every body
//! mutation marked "reject" is invalid by it.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::mutate::{Expectation, RequestParts, body_sites};
use super::schema::branches;
use super::strategy::{GenConfig, Generator, Hints};
use crate::spec::Spec;

/// The reference layer: every constraint our reference server keeps
/// (the documented spec alone has far fewer, e.g. no lower bound on budgets).
fn spec() -> Spec {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let contract = crate::spec::Contract::load(
        &root.join(crate::spec::DOCUMENTED_SPEC),
        Some(&root.join(crate::spec::REFERENCE_OVERLAY)),
    )
    .unwrap();
    let doc = contract.reference().unwrap().document().clone();
    Spec::from_document(doc, "reference").unwrap()
}

#[test]
fn generated_bodies_validate_and_mutations_break_them() {
    let spec = spec();
    let root = spec.document().clone();
    let generator = Generator::new(&root, GenConfig::default(), Hints::default());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]));
    let mut checked = 0;
    for op in spec.operations() {
        let Some(rb) = &op.request_body else { continue };
        let Some(media) = rb.content.iter().find(|m| m.content_type == "application/json") else {
            continue;
        };
        let schema = media.schema.clone().unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap();
        for branch in branches(&schema, &root) {
            let strategy = generator.strategy(&branch);
            let sites = body_sites(&branch, &root);
            // Ten bodies a branch (290 in all, each with every mutation that
            // must be refused; it was twenty a branch, at twice the time).
            for _ in 0..10 {
                let body = strategy.new_tree(&mut runner).unwrap().current();
                let errors: Vec<String> = validator.iter_errors(&body).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{}: {body} is invalid: {errors:?}", op.label());
                let parts = RequestParts {
                    body: Some(body.clone()),
                    ..Default::default()
                };
                for site in sites.iter().filter(|s| s.expectation == Expectation::Reject) {
                    let Some(m) = site.apply(&parts) else { continue };
                    let mutated = m.parts.body.unwrap();
                    // A oneOf body may still match another branch; the driver downgrades those.
                    if validator.is_valid(&mutated) {
                        assert!(
                            branches(&schema, &root).len() > 1,
                            "{}: {} left {mutated} valid",
                            op.label(),
                            m.description
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 200, "{checked}");
}

/// The two layers: sites weighed against the docs, acceptance judged by
/// who requires the refusal, response findings citing the docs, reference
/// findings departing, replays re-weighing a stored refusal.
pub(super) mod layers {
    use std::sync::Arc;

    use serde_json::{Value, json};

    use crate::finding::FindingKind;
    use crate::fuzz::Layer;
    use crate::fuzz::exec::{FailureKind, Observed, Oracle, judge};
    use crate::fuzz::mutate::{Basis, Location, MutationKind, MutationSite, RequestParts};
    use crate::fuzz::plan::{WeighedSites, weighed_sites};
    use crate::fuzz::request::Expect;
    use crate::spec::{Contract, Operation, Spec};

    pub(crate) const MESSAGE_DOCS: [&str; 2] = [
        "llms.txt#browse-and-apply-agent-actions",
        "openapi:POST /api/jobs/{id}/apply",
    ];

    pub(crate) const DOC: &str = r#"
openapi: 3.0.3
info: {title: documented, version: "1"}
components:
  schemas:
    Application:
      type: object
      x-doc: ["docs/api#application"]
      required: [id, status]
      properties:
        id: {type: string, format: uuid}
        status: {type: string}
    ApplyRequest:
      type: object
      required: [message, proposed_price]
      properties:
        message:
          type: string
          minLength: 10
          x-doc: [llms.txt#browse-and-apply-agent-actions, "openapi:POST /api/jobs/{id}/apply"]
        proposed_price: {type: integer, minimum: 1, description: USD cents.}
paths:
  /api/jobs/{id}/apply:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
    post:
      operationId: applyToJob
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ApplyRequest'}
      responses:
        '200':
          description: applied
          content:
            application/json:
              schema:
                type: object
                required: [application]
                properties:
                  application: {$ref: '#/components/schemas/Application'}
        '4XX': {description: refused}
  /api/agent/applications:
    get:
      operationId: listMyApplications
      x-doc: ["docs/api#applications"]
      parameters:
        - name: status
          in: query
          schema: {type: string, enum: [pending, accepted]}
        - name: sort
          in: query
          schema: {type: string, enum: [newest, oldest], x-refuse-others: true}
        - name: limit
          in: query
          schema: {type: integer, minimum: 1, maximum: 100}
      responses:
        '200': {description: listed}
"#;

    pub(crate) const OVERLAY: &str = r#"
overlay: 1.0.0
actions:
  - target: $.components.schemas.Application.required
    update: [job_id]
  - target: $.components.schemas.ApplyRequest.properties.message
    update: {maxLength: 5000}
"#;

    pub(crate) fn layered() -> Contract {
        let doc = Spec::from_text(DOC, "doc.yaml").unwrap();
        let reference = Contract::reference_of(&doc, OVERLAY, "ref.yaml").unwrap();
        Contract::new(Arc::new(doc), Some(Arc::new(reference)))
    }

    pub(crate) fn documented_only() -> Contract {
        Contract::documented_only(Arc::new(Spec::from_text(DOC, "doc.yaml").unwrap()))
    }

    pub(crate) fn op<'a>(c: &'a Contract, id: &str) -> &'a Operation {
        c.documented().operation_by_id(id).unwrap()
    }

    fn site<'a>(w: &'a WeighedSites, label: &str, kind: MutationKind) -> &'a MutationSite {
        w.all()
            .find(|s| s.location.label() == label && s.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} site at {label}"))
    }

    fn docs(refs: &[&str]) -> Basis {
        Basis::Docs {
            refs: refs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn apply_body() -> RequestParts {
        let mut p = RequestParts {
            body: Some(json!({"message": "0123456789abc", "proposed_price": 2500})),
            ..Default::default()
        };
        p.path_params
            .insert("id".into(), "11111111-1111-4111-8111-111111111111".into());
        p
    }

    fn answer(status: u16, body: Value) -> Result<Observed, String> {
        Ok(Observed {
            status,
            content_type: Some("application/json".into()),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
            json: Some(body),
            ..Default::default()
        })
    }

    fn ok_application() -> Value {
        json!({"application": {"id": "11111111-1111-4111-8111-111111111111", "status": "pending", "job_id": "11111111-1111-4111-8111-111111111112"}})
    }

    #[test]
    fn sites_are_weighed_against_the_docs() {
        let c = layered();
        let apply = weighed_sites(&c, op(&c, "applyToJob"));
        assert_eq!(
            site(&apply, "message", MutationKind::TooShort).basis,
            docs(&MESSAGE_DOCS)
        );
        assert_eq!(
            site(&apply, "message", MutationKind::MissingRequired).basis,
            docs(&MESSAGE_DOCS)
        );
        let price = site(&apply, "proposed_price", MutationKind::BelowMinimum);
        assert!(
            matches!(&price.basis, Basis::Reference { reason } if reason.contains("without an `x-doc`")),
            "{:?}",
            price.basis
        );
        let too_long = site(&apply, "message", MutationKind::TooLong);
        assert_eq!(too_long.origin, Layer::Reference);
        assert!(matches!(&too_long.basis, Basis::Reference { reason } if reason.contains("only the reference layer")));
        assert!(matches!(
            site(&apply, "{id}", MutationKind::BrokenUuid).basis,
            Basis::Reference { .. }
        ));
        // Sites only once: the reference layer's copies of documented ones are not added.
        let n = apply
            .all()
            .filter(|s| s.location.label() == "message" && s.kind == MutationKind::TooShort)
            .count();
        assert_eq!(n, 1);

        let list = weighed_sites(&c, op(&c, "listMyApplications"));
        let op_docs = docs(&["docs/api#applications"]);
        assert!(
            matches!(&site(&list, "?status", MutationKind::NotInEnum).basis, Basis::Reference { reason } if reason.contains("x-refuse-others")),
        );
        assert_eq!(site(&list, "?sort", MutationKind::NotInEnum).basis, op_docs);
        assert_eq!(site(&list, "?limit", MutationKind::BelowMinimum).basis, op_docs);

        // Without a reference layer, what the docs do not back is nobody's rule.
        let only = documented_only();
        let apply = weighed_sites(&only, op(&only, "applyToJob"));
        assert!(matches!(
            site(&apply, "proposed_price", MutationKind::BelowMinimum).basis,
            Basis::Nobody { .. }
        ));
        assert!(!apply.all().any(|s| s.kind == MutationKind::TooLong));
        assert_eq!(
            site(&apply, "message", MutationKind::TooShort).basis,
            docs(&MESSAGE_DOCS)
        );
    }

    #[test]
    fn accepting_is_a_failure_only_where_the_docs_require_a_refusal() {
        let c = layered();
        let o = op(&c, "applyToJob");
        let w = weighed_sites(&c, o);
        let short = site(&w, "message", MutationKind::TooShort)
            .apply(&apply_body())
            .unwrap();
        let j = judge(
            Expect::Reject,
            Some(&short.refusal),
            &answer(200, ok_application()),
            Oracle::Contract(&c, o),
        );
        assert_eq!(j.failure, Some(FailureKind::AcceptedInvalid));
        assert_eq!(
            j.message,
            "answered 200 to a request whose `message` is 9 characters; the docs require at least 10 characters \
             (llms.txt#browse-and-apply-agent-actions, openapi:POST /api/jobs/{id}/apply)"
        );
        assert_eq!(j.docs, MESSAGE_DOCS);
        assert_eq!(j.layer, Layer::Documented);
        // Refused: fine.
        let refused = judge(
            Expect::Reject,
            Some(&short.refusal),
            &answer(400, json!({"error": "too short"})),
            Oracle::Contract(&c, o),
        );
        assert_eq!(refused.failure, None);
        assert!(refused.departures.is_empty(), "{:?}", refused.departures);

        let low = site(&w, "proposed_price", MutationKind::BelowMinimum)
            .apply(&apply_body())
            .unwrap();
        let j = judge(
            Expect::Reject,
            Some(&low.refusal),
            &answer(200, ok_application()),
            Oracle::Contract(&c, o),
        );
        assert_eq!(j.failure, None, "{}", j.message);
        assert_eq!(j.departures.len(), 1, "{:?}", j.departures);
        assert_eq!(j.departures[0].kind, FailureKind::AcceptedInvalid);
        assert!(
            j.departures[0]
                .finding
                .message
                .starts_with("answered 200 to a request whose `proposed_price` is 0; our reference server refuses this (it requires at least 1;"),
            "{}",
            j.departures[0].finding.message
        );
        let strict = j.strict();
        assert_eq!(strict.failure, Some(FailureKind::AcceptedInvalid));
        assert_eq!(strict.layer, Layer::Reference);
        assert!(strict.departures.is_empty());

        let only = documented_only();
        let o = op(&only, "applyToJob");
        let w = weighed_sites(&only, o);
        let low = site(&w, "proposed_price", MutationKind::BelowMinimum)
            .apply(&apply_body())
            .unwrap();
        let j = judge(
            Expect::Reject,
            Some(&low.refusal),
            &answer(200, ok_application()),
            Oracle::Contract(&only, o),
        );
        assert_eq!(j.failure, None);
        assert!(j.departures.is_empty());
        assert!(j.clone().strict().failure.is_none());
    }

    #[test]
    fn response_findings_cite_the_docs_and_reference_ones_depart() {
        let c = layered();
        let o = op(&c, "applyToJob");
        let j = judge(
            Expect::Documented,
            None,
            &answer(
                200,
                json!({"application": {"id": "11111111-1111-4111-8111-111111111111", "status": "pending"}}),
            ),
            Oracle::Contract(&c, o),
        );
        assert_eq!(j.failure, None, "{}", j.message);
        assert_eq!(j.departures.len(), 1, "{:?}", j.departures);
        assert_eq!(j.departures[0].kind, FailureKind::ContractViolation);
        assert!(j.departures[0].finding.message.contains("job_id"));
        let j = judge(
            Expect::Documented,
            None,
            &answer(200, json!({"application": {"status": "pending"}})),
            Oracle::Contract(&c, o),
        );
        assert_eq!(j.failure, Some(FailureKind::ContractViolation));
        assert!(j.message.contains("\"id\" is a required property"), "{}", j.message);
        assert!(j.message.ends_with("(docs: docs/api#application)"), "{}", j.message);
        assert_eq!(j.docs, ["docs/api#application"]);
        // The reference layer's `id` finding repeats a documented one: not a departure too.
        assert!(j.departures.iter().all(|d| !d.finding.message.contains("\"id\"")));
        // An undocumented status cites the operation's docs when it has some.
        let list = op(&c, "listMyApplications");
        let j = judge(
            Expect::Documented,
            None,
            &answer(302, json!({})),
            Oracle::Contract(&c, list),
        );
        assert_eq!(j.failure, Some(FailureKind::UndocumentedStatus));
        assert_eq!(j.docs, ["docs/api#applications"]);
        assert!(j.findings.iter().any(|f| f.kind == FindingKind::UndocumentedStatus));
    }

    #[test]
    fn a_stored_refusal_is_weighed_again() {
        let c = layered();
        let o = op(&c, "applyToJob");
        let w = weighed_sites(&c, o);
        let parts = site(&w, "message", MutationKind::TooShort)
            .apply(&apply_body())
            .unwrap()
            .parts;
        let s = site(&w, "message", MutationKind::TooShort);
        assert!(s.breaks(&parts));
        assert!(!s.breaks(&apply_body()));
        assert_eq!(s.breach_in(&parts), "is 9 characters");
        let q = site(
            &weighed_sites(&c, op(&c, "listMyApplications")),
            "?limit",
            MutationKind::BelowMinimum,
        )
        .clone();
        let mut p = RequestParts::default();
        p.query.push(("limit".into(), "0".into()));
        assert!(q.breaks(&p));
        p.query[0].1 = "5".into();
        assert!(!q.breaks(&p));
        assert!(matches!(q.location, Location::Query { .. }));
    }
}
