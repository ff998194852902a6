//! Generation against the real contract: every body a strategy draws
//! validates against the operation's request schema, and every body
//! mutation marked "reject" is invalid by it.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::mutate::{Expectation, RequestParts, body_sites};
use super::schema::branches;
use super::strategy::{GenConfig, Generator, Hints};
use crate::spec::Spec;

fn spec() -> Spec {
    Spec::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/specs/agentgigs.openapi.yaml"
    )))
    .unwrap()
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
            for _ in 0..20 {
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
