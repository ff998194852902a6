//! The event driver: pulls `saphyr-parser` events one at a time and builds
//! the value and its location tree on an explicit stack (no recursion, so a
//! deep input cannot overflow the call stack).
//!
//! It must not allocate without bound: every node, including alias copies,
//! is counted against the [`Options`] caps before it is built.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

use super::{Children, Document, LocNode, Location, Options, YamlError};

fn loc(m: Marker) -> Location {
    Location {
        line: m.line().max(1),
        column: m.col() + 1,
    }
}

/// A completed node with its size, ready to be placed in its parent.
struct Built {
    value: Value,
    /// Nodes in the subtree (itself included).
    nodes: usize,
    /// String bytes in the subtree.
    bytes: usize,
    /// Collection nesting height of the subtree (a scalar is 0).
    height: usize,
}

enum Container {
    Seq(Vec<Value>, Vec<LocNode>),
    /// The map, its children's locations, and the key waiting for its
    /// value (with the key's location).
    Map(Map<String, Value>, Vec<(String, LocNode)>, Option<(String, Location)>),
}

struct Frame {
    container: Container,
    /// Where the collection and its key were written.
    at: Location,
    key: Option<Location>,
    anchor: usize,
    nodes: usize,
    bytes: usize,
    height: usize,
}

struct Builder<'o> {
    options: &'o Options,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, usize, usize, usize)>,
    total_nodes: usize,
    total_bytes: usize,
    root: Option<(Value, LocNode)>,
    documents: usize,
}

pub(super) fn build(text: &str, options: &Options) -> Result<Document, YamlError> {
    let mut b = Builder {
        options,
        stack: Vec::new(),
        anchors: HashMap::new(),
        total_nodes: 0,
        total_bytes: 0,
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError::at(loc(*e.marker()), e.info().to_string()))?;
        let at = loc(span.start);
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                b.documents += 1;
                if b.documents > 1 {
                    return Err(YamlError::at(
                        at,
                        "a second YAML document (`---`) was found: only one document per file is supported",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => b.scalar(text, style, anchor, tag, at)?,
            Event::Alias(id) => b.alias(id, at)?,
            Event::SequenceStart(anchor, _) => b.start(Container::Seq(Vec::new(), Vec::new()), anchor, at)?,
            Event::MappingStart(anchor, _) => b.start(Container::Map(Map::new(), Vec::new(), None), anchor, at)?,
            Event::SequenceEnd | Event::MappingEnd => b.end(at)?,
        }
    }
    if !b.stack.is_empty() {
        // The parser reports unterminated input itself; this is a safety net.
        let at = Location {
            line: text.lines().count().max(1),
            column: 1,
        };
        return Err(YamlError::at(at, "unexpected end of the document"));
    }
    let (value, locs) = b.root.unwrap_or_else(|| {
        (
            Value::Null,
            LocNode {
                at: Location { line: 1, column: 1 },
                key: None,
                children: Children::None,
            },
        )
    });
    Ok(Document { value, locs })
}

impl Builder<'_> {
    /// Whether the next node is a mapping key.
    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                container: Container::Map(_, _, None),
                ..
            })
        )
    }

    /// Where the key of the next value node was written, if in a mapping.
    fn pending_key_location(&self) -> Option<Location> {
        match self.stack.last() {
            Some(Frame {
                container: Container::Map(_, _, Some((_, k))),
                ..
            }) => Some(*k),
            _ => None,
        }
    }

    fn charge(&mut self, nodes: usize, bytes: usize, at: Location, alias: bool) -> Result<(), YamlError> {
        self.total_nodes = self.total_nodes.saturating_add(nodes);
        self.total_bytes = self.total_bytes.saturating_add(bytes);
        let why = if alias {
            " after alias expansion (possible alias bomb)"
        } else {
            ""
        };
        if self.total_nodes > self.options.max_nodes {
            return Err(YamlError::at(
                at,
                format!("document too large: more than {} nodes{why}", self.options.max_nodes),
            ));
        }
        if self.total_bytes > self.options.max_string_bytes {
            return Err(YamlError::at(
                at,
                format!(
                    "document too large: more than {} bytes of strings{why}",
                    self.options.max_string_bytes
                ),
            ));
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        text: Cow<'_, str>,
        style: ScalarStyle,
        anchor: usize,
        tag: Option<Cow<'_, Tag>>,
        at: Location,
    ) -> Result<(), YamlError> {
        self.charge(1, text.len(), at, false)?;
        if self.expecting_key() {
            // A mapping key.
            let key = if style != ScalarStyle::Plain || tag.as_ref().is_some_and(|t| is_core(t, "str")) {
                text.into_owned()
            } else {
                let parsed = if text.is_empty() {
                    Scalar::Null
                } else {
                    Scalar::parse_from_cow(Cow::Borrowed(text.as_ref()))
                };
                match parsed {
                    Scalar::String(_) => text.into_owned(),
                    _ if self.options.scalar_keys => text.into_owned(),
                    other => {
                        return Err(YamlError::at(
                            at,
                            format!(
                                "mapping key `{text}` is a {}, expected a string (quote it)",
                                scalar_kind(&other)
                            ),
                        ));
                    }
                }
            };
            if anchor > 0 {
                let bytes = key.len();
                self.anchors.insert(anchor, (Value::String(key.clone()), 1, bytes, 0));
            }
            return self.set_key(key, at);
        }
        let value = scalar_value(text, style, tag, at)?;
        let bytes = match &value {
            Value::String(s) => s.len(),
            _ => 0,
        };
        self.place(
            Built {
                value,
                nodes: 1,
                bytes,
                height: 0,
            },
            anchor,
            at,
        )
    }

    fn set_key(&mut self, key: String, at: Location) -> Result<(), YamlError> {
        let Some(frame) = self.stack.last_mut() else {
            return Ok(());
        };
        let Container::Map(map, _, pending) = &mut frame.container else {
            return Ok(());
        };
        if map.contains_key(&key) {
            return Err(YamlError::at(at, format!("duplicate mapping key `{key}`")));
        }
        frame.bytes = frame.bytes.saturating_add(key.len());
        *pending = Some((key, at));
        Ok(())
    }

    fn alias(&mut self, id: usize, at: Location) -> Result<(), YamlError> {
        let Some((value, nodes, bytes, height)) = self.anchors.get(&id) else {
            return Err(YamlError::at(at, "alias to an unknown anchor"));
        };
        let (nodes, bytes, height) = (*nodes, *bytes, *height);
        if self.stack.len() + height > self.options.max_depth {
            return Err(YamlError::at(
                at,
                format!(
                    "nesting deeper than {} levels after alias expansion",
                    self.options.max_depth
                ),
            ));
        }
        let value = value.clone();
        self.charge(nodes, bytes, at, true)?;
        if self.expecting_key() {
            let key = match value {
                Value::String(s) => s,
                Value::Number(n) if self.options.scalar_keys => n.to_string(),
                Value::Bool(b) if self.options.scalar_keys => b.to_string(),
                Value::Null if self.options.scalar_keys => "null".to_string(),
                other => {
                    return Err(YamlError::at(
                        at,
                        format!("mapping key is a {}, expected a string", value_kind(&other)),
                    ));
                }
            };
            return self.set_key(key, at);
        }
        self.place(
            Built {
                value,
                nodes,
                bytes,
                height,
            },
            0,
            at,
        )
    }

    fn start(&mut self, container: Container, anchor: usize, at: Location) -> Result<(), YamlError> {
        self.charge(1, 0, at, false)?;
        if self.expecting_key() {
            return Err(YamlError::at(at, "mapping key is a collection, expected a string"));
        }
        if self.stack.len() >= self.options.max_depth {
            return Err(YamlError::at(
                at,
                format!("nesting deeper than {} levels", self.options.max_depth),
            ));
        }
        let key = self.pending_key_location();
        self.stack.push(Frame {
            container,
            at,
            key,
            anchor,
            nodes: 1,
            bytes: 0,
            height: 1,
        });
        Ok(())
    }

    fn end(&mut self, at: Location) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Err(YamlError::at(at, "unbalanced end of a collection"));
        };
        let (value, children) = match frame.container {
            Container::Seq(v, l) => (Value::Array(v), Children::Seq(l)),
            Container::Map(m, l, None) => (Value::Object(m), Children::Map(l)),
            Container::Map(_, _, Some((k, _))) => {
                return Err(YamlError::at(at, format!("mapping key `{k}` has no value")));
            }
        };
        let built = Built {
            value,
            nodes: frame.nodes,
            bytes: frame.bytes,
            height: frame.height,
        };
        let loc = LocNode {
            at: frame.at,
            key: frame.key,
            children,
        };
        self.attach(built, loc, frame.anchor)
    }

    /// Place a freshly read scalar or alias copy, recording its location.
    fn place(&mut self, built: Built, anchor: usize, at: Location) -> Result<(), YamlError> {
        let loc = LocNode {
            at,
            key: self.pending_key_location(),
            children: Children::None,
        };
        self.attach(built, loc, anchor)
    }

    fn attach(&mut self, built: Built, loc: LocNode, anchor: usize) -> Result<(), YamlError> {
        if anchor > 0 {
            self.anchors
                .insert(anchor, (built.value.clone(), built.nodes, built.bytes, built.height));
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some((built.value, loc));
            return Ok(());
        };
        parent.nodes = parent.nodes.saturating_add(built.nodes);
        parent.bytes = parent.bytes.saturating_add(built.bytes);
        parent.height = parent.height.max(built.height + 1);
        match &mut parent.container {
            Container::Seq(v, l) => {
                v.push(built.value);
                l.push(loc);
            }
            Container::Map(m, l, pending) => {
                if let Some((k, _)) = pending.take() {
                    l.push((k.clone(), loc));
                    m.insert(k, built.value);
                }
            }
        }
        Ok(())
    }
}

fn is_core(tag: &Tag, suffix: &str) -> bool {
    tag.is_yaml_core_schema() && tag.suffix == suffix
}

fn scalar_value(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<Cow<'_, Tag>>,
    at: Location,
) -> Result<Value, YamlError> {
    let Some(scalar) = Scalar::parse_from_cow_and_metadata(Cow::Borrowed(text.as_ref()), style, tag.as_ref()) else {
        let tag_name = tag.as_ref().map(|t| format!("!!{}", t.suffix)).unwrap_or_default();
        return Err(YamlError::at(
            at,
            format!("`{text}` is not a valid `{tag_name}` value (or the tag is not supported)"),
        ));
    };
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Number(i.into()),
        Scalar::FloatingPoint(f) => match Number::from_f64(f.into_inner()) {
            Some(n) => Value::Number(n),
            None => {
                return Err(YamlError::at(
                    at,
                    format!("`{text}` is not a finite number: JSON cannot hold it"),
                ));
            }
        },
        Scalar::String(_) => Value::String(text.into_owned()),
    })
}

fn scalar_kind(s: &Scalar<'_>) -> &'static str {
    match s {
        Scalar::Null => "null",
        Scalar::Boolean(_) => "boolean",
        Scalar::Integer(_) => "integer",
        Scalar::FloatingPoint(_) => "float",
        Scalar::String(_) => "string",
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "mapping",
    }
}
