//! Unit tests of the YAML reader.

use serde_json::json;

use super::*;

fn at(line: usize, column: usize) -> Location {
    Location { line, column }
}

#[test]
fn scalars_follow_the_core_schema() {
    let v = parse_value(
        "a: 1\nb: -2.5\nc: true\nd: null\ne: ~\nf: hello\ng: '1'\nh: \"true\"\ni: 0x10\nj: 1e3\nk:\nl: !!str 12\nm: False\n",
    )
    .unwrap();
    assert_eq!(
        v,
        json!({"a":1,"b":-2.5,"c":true,"d":null,"e":null,"f":"hello","g":"1","h":"true","i":16,"j":1000.0,"k":null,"l":"12","m":false})
    );
}

#[test]
fn locations_of_nodes_and_keys() {
    let text = "info:\n  title: x\nlist:\n  - a\n  - {b: 2}\n'we/ird~': 1\n";
    let d = parse(text).unwrap();
    assert_eq!(d.location(""), Some(at(1, 1)));
    assert_eq!(d.location("/info"), Some(at(2, 3)));
    assert_eq!(d.location("/info/title"), Some(at(2, 10)));
    assert_eq!(d.key_location("/info/title"), Some(at(2, 3)));
    assert_eq!(d.key_location("/info"), Some(at(1, 1)));
    assert_eq!(d.location("/list/0"), Some(at(4, 5)));
    assert_eq!(d.location("#/list/1/b"), Some(at(5, 9)));
    assert_eq!(d.key_location("/list/0"), None);
    assert_eq!(d.location("/we~1ird~0"), Some(at(6, 12)));
    assert_eq!(d.key_location("/we~1ird~0"), Some(at(6, 1)));
    assert_eq!(d.location("/info/missing"), None);
    assert_eq!(d.nearest_location("/info/missing/deeper"), at(2, 3));
    assert_eq!(d.nearest_location("/nothing"), at(1, 1));
}

#[test]
fn anchors_and_aliases_are_resolved() {
    let d = parse("base: &b {x: 1, y: [1, 2]}\ncopy: *b\nk: &k key\nm: {*k : 3}\n").unwrap();
    assert_eq!(d.value["copy"], json!({"x":1,"y":[1,2]}));
    assert_eq!(d.value["m"], json!({"key":3}));
    assert_eq!(d.location("/copy"), Some(at(2, 7)));
    assert_eq!(d.nearest_location("/copy/y/1"), at(2, 7));
}

#[test]
fn non_string_keys_are_errors_unless_allowed() {
    let e = parse("responses:\n  200: ok\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 3));
    assert!(e.message.contains("`200`"), "{e}");
    let e = parse("? [a]\n: 1\n").unwrap_err();
    assert!(e.message.contains("collection"), "{e}");
    let opts = Options {
        scalar_keys: true,
        ..Options::default()
    };
    let d = parse_with("responses:\n  200: ok\n  4XX: bad\n  0x1: hex\n", &opts).unwrap();
    assert_eq!(d.value, json!({"responses": {"200": "ok", "4XX": "bad", "0x1": "hex"}}));
    assert_eq!(d.key_location("/responses/200"), Some(at(2, 3)));
    assert!(parse_with("? [a]\n: 1\n", &opts).is_err());
}

#[test]
fn multiple_documents_are_an_error() {
    let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("second"));
    assert!(parse("---\na: 1\n...\n").is_ok());
}

#[test]
fn syntax_errors_name_the_place() {
    let e = parse("a: 1\nb: [1, 2\n").unwrap_err();
    assert!(e.line >= 2, "{e}");
    let e = parse("a: 1\na: 2\n").unwrap_err();
    assert_eq!((e.line, e.column), (2, 1));
    assert!(e.message.contains("duplicate"));
    let e = parse("a: *nope\n").unwrap_err();
    assert!(e.line == 1, "{e}");
    let e = parse("a: !!int abc\n").unwrap_err();
    assert!(e.message.contains("!!int"), "{e}");
    let e = parse("a: .inf\n").unwrap_err();
    assert!(e.message.contains("finite"), "{e}");
}

#[test]
fn empty_text_is_null() {
    assert_eq!(parse_value("").unwrap(), Value::Null);
    assert_eq!(parse_value("# only a comment\n").unwrap(), Value::Null);
}

#[test]
fn billion_laughs_is_refused() {
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = parse(&text).unwrap_err();
    assert!(e.message.contains("alias"), "{e}");
    // Strings: one big string copied many times.
    let big = "x".repeat(1 << 20);
    let mut text = format!("s: &s {big}\nl:\n");
    for _ in 0..100 {
        text.push_str("  - *s\n");
    }
    let e = parse(&text).unwrap_err();
    assert!(e.message.contains("bytes"), "{e}");
}

#[test]
fn deep_nesting_is_refused_without_overflow() {
    let deep = "- ".repeat(100_000) + "x\n";
    assert!(parse(&deep).is_err());
    let flow = "[".repeat(100_000);
    assert!(parse(&flow).is_err());
    let ok = "- ".repeat(50) + "x\n";
    assert!(parse(&ok).is_ok());
    // Depth grown through aliases.
    let mut text = format!("a0: &a0 {}1{}\n", "[".repeat(150), "]".repeat(150));
    text.push_str(&format!("a1: &a1 {}*a0{}\n", "[".repeat(100), "]".repeat(100)));
    let e = parse(&text).unwrap_err();
    assert!(e.message.contains("deeper"), "{e}");
}

#[test]
fn json_is_yaml() {
    let v = parse_value(r#"{"a": [1, 2.5, "x", null, true], "b": {"c": "d"}}"#).unwrap();
    assert_eq!(v, json!({"a": [1, 2.5, "x", null, true], "b": {"c": "d"}}));
}

#[test]
fn key_order_is_kept() {
    let v = parse_value("z: 1\na: 2\nm: 3\n").unwrap();
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["z", "a", "m"]);
}

mod garbage {
    use proptest::prelude::*;

    proptest! {
        // proptest's default 256 cases (512 doubled the slowest parse test).
        #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]
        #[test]
        fn garbage_never_panics(s in "\\PC{0,200}") {
            let _ = super::parse(&s);
        }

        #[test]
        fn yaml_shaped_garbage_never_panics(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("- "), Just(": "), Just("\n"), Just("  "), Just("&a "), Just("*a"),
                    Just("["), Just("]"), Just("{"), Just("}"), Just(", "), Just("? "),
                    Just("'"), Just("\""), Just("|\n"), Just(">-\n"), Just("---\n"), Just("...\n"),
                    Just("!!str "), Just("!x "), Just("#c"), Just("key"), Just("1"), Just("\t"),
                    Just("%YAML 1.2\n"), Just("<<: "), Just("~"), Just("\\"), Just("é"),
                ],
                0..60,
            )
        ) {
            let s: String = parts.concat();
            let _ = super::parse(&s);
            let opts = super::Options { scalar_keys: true, ..super::Options::default() };
            let _ = super::parse_with(&s, &opts);
        }
    }
}
