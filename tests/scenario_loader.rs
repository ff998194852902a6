use agentgigs_conformance::scenario::*;

#[test]
fn explore() {
    let spec = agentgigs_conformance::spec::Spec::load(std::path::Path::new("/work/main/specs/agentgigs.openapi.yaml"));
    if let Err(e) = &spec { eprintln!("spec: {e}"); }
    match load_library(std::path::Path::new("/work/main/scenarios")) {
        Ok(lib) => {
            eprintln!("loaded {} scenarios, {} flows", lib.scenarios.len(), lib.flows.len());
            for f in lint(&lib, spec.as_ref().ok()) { eprintln!("{f}"); }
            let s = lib.scenario("lifecycle.one-proofer-full-flow").unwrap();
            for st in expand(s, &lib).unwrap() { eprintln!("{} {:?} {:?} {:?}", st.source, st.name, st.actor, st.set); }
        }
        Err(e) => eprintln!("{e}"),
    }
}
