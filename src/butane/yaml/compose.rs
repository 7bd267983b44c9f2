//! The composer: events in, node tree out (the `parser` type of yaml.v3's
//! decode.go: `parse`, `node`, `scalar`, `alias`, `sequence`, `mapping`,
//! `document`, `expect`, `peek`, `fail`).
//!
//! Boundary: this module decides each node's kind, tag, style, anchor, alias
//! target and position, and turns recorded syntax errors into the final
//! `Error` text. It reads only the first document, as `yaml.Unmarshal` does.
//!
//! yaml.v3 builds the tree recursively; this does the same work with an
//! explicit stack so that 10000 nested collections (yaml.v3's own limit)
//! cannot overflow the Rust stack. The order of event reads, anchor
//! registrations and alias look-ups is unchanged.

use std::borrow::Cow;
use std::collections::HashMap;

use super::error::Error;
use super::node::{Kind, NodeData, Style, Tree};
use super::parser::{Event, EventKind, Parser};
use super::resolve::{self, MAP_TAG, MERGE_TAG, SEQ_TAG, STR_TAG};
use super::scanner::ScalarStyle;

pub(super) struct Composer<'a> {
    parser: Parser<'a>,
    /// The peeked event; kind `None` means none is pending (Go's NO_EVENT).
    event: Event,
    anchors: HashMap<Vec<u8>, usize>,
    nodes: Vec<NodeData>,
}

impl<'a> Composer<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Composer {
            parser: Parser::new(input),
            event: Event::none(),
            anchors: HashMap::new(),
            nodes: Vec::new(),
        }
    }

    /// `yaml.Unmarshal` into a `yaml.Node`: the first document, or `None`
    /// for a stream without documents.
    pub(super) fn compose_first_document(mut self) -> Result<Option<Tree>, Error> {
        self.expect(EventKind::StreamStart)?;
        match self.peek()? {
            EventKind::StreamEnd => Ok(None),
            EventKind::DocumentStart => {
                self.document()?;
                Ok(Some(Tree { nodes: self.nodes }))
            }
            other => Err(unexpected_event(other)),
        }
    }

    // ----- Event access ------------------------------------------------------

    /// parser.fail: the recorded syntax error as yaml.v3 words it.
    fn fail(&self) -> Error {
        Error::fatal(self.parser.scanner.err.message())
    }

    /// parser.peek.
    fn peek(&mut self) -> Result<EventKind, Error> {
        if self.event.kind != EventKind::None {
            return Ok(self.event.kind);
        }
        match self.parser.parse() {
            Ok(event) if !self.parser.scanner.err.is_set() => self.event = event,
            _ => return Err(self.fail()),
        }
        Ok(self.event.kind)
    }

    /// parser.expect: consumes the pending event, which must be `kind`.
    fn expect(&mut self, kind: EventKind) -> Result<(), Error> {
        if self.event.kind == EventKind::None {
            match self.parser.parse() {
                Ok(event) => self.event = event,
                Err(_) => return Err(self.fail()),
            }
        }
        if self.event.kind == EventKind::StreamEnd {
            return Err(Error::fatal(
                "yaml: attempted to go past the end of stream; corrupted value?",
            ));
        }
        if self.event.kind != kind {
            self.parser.scanner.err.problem = format!(
                "expected {} event but got {}",
                kind.name(),
                self.event.kind.name()
            );
            return Err(self.fail());
        }
        self.event = Event::none();
        Ok(())
    }

    // ----- Nodes -------------------------------------------------------------

    /// parser.node: a new node positioned at the pending event. An explicit
    /// tag (other than "!") wins; otherwise the default tag, otherwise the
    /// resolved tag of a scalar.
    fn new_node(
        &mut self,
        kind: Kind,
        default_tag: &'static str,
        tag: &[u8],
        value: Vec<u8>,
    ) -> usize {
        let value = String::from_utf8(value)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let (tag, style): (Cow<'static, str>, Style) = if !tag.is_empty() && tag != b"!" {
            let tag = String::from_utf8_lossy(tag);
            (Cow::Owned(resolve::short_tag(&tag)), Style::TAGGED)
        } else if !default_tag.is_empty() {
            (Cow::Borrowed(default_tag), Style::default())
        } else if kind == Kind::Scalar {
            (
                Cow::Borrowed(resolve::resolve_plain_tag(&value)),
                Style::default(),
            )
        } else {
            (Cow::Borrowed(""), Style::default())
        };
        let start = self.event.start;
        self.nodes.push(NodeData {
            kind,
            style,
            tag,
            value,
            anchor: String::new(),
            alias: None,
            content: Vec::new(),
            line: start.line + 1,
            column: start.column + 1,
        });
        self.nodes.len() - 1
    }

    /// parser.anchor: registers the node under the pending event's anchor
    /// (a later anchor of the same name replaces it).
    fn register_anchor(&mut self, id: usize) {
        if let Some(anchor) = self.event.anchor.take() {
            self.nodes[id].anchor = String::from_utf8_lossy(&anchor).into_owned();
            self.anchors.insert(anchor, id);
        }
    }

    /// parser.document.
    fn document(&mut self) -> Result<(), Error> {
        let doc = self.new_node(Kind::Document, "", b"", Vec::new());
        self.expect(EventKind::DocumentStart)?;
        let root = self.node_tree()?;
        self.nodes[doc].content.push(root);
        self.peek()?;
        self.expect(EventKind::DocumentEnd)
    }

    /// parser.parse for a node and everything inside it, iteratively.
    fn node_tree(&mut self) -> Result<usize, Error> {
        let mut open: Vec<(usize, EventKind)> = Vec::new();
        loop {
            let kind = self.peek()?;
            if let Some(&(collection, end)) = open.last()
                && kind == end
            {
                self.expect(end)?;
                open.pop();
                match open.last() {
                    None => return Ok(collection),
                    Some(&(parent, _)) => self.nodes[parent].content.push(collection),
                }
                continue;
            }
            let id = match kind {
                EventKind::Scalar => self.scalar()?,
                EventKind::Alias => self.alias()?,
                EventKind::SequenceStart => {
                    let id = self.collection_start(Kind::Sequence, SEQ_TAG, kind)?;
                    open.push((id, EventKind::SequenceEnd));
                    continue;
                }
                EventKind::MappingStart => {
                    let id = self.collection_start(Kind::Mapping, MAP_TAG, kind)?;
                    open.push((id, EventKind::MappingEnd));
                    continue;
                }
                other => return Err(unexpected_event(other)),
            };
            match open.last() {
                None => return Ok(id),
                Some(&(parent, _)) => self.nodes[parent].content.push(id),
            }
        }
    }

    /// parser.scalar.
    fn scalar(&mut self) -> Result<usize, Error> {
        let node_style = match self.event.scalar_style {
            ScalarStyle::DoubleQuoted => Style::DOUBLE_QUOTED,
            ScalarStyle::SingleQuoted => Style::SINGLE_QUOTED,
            ScalarStyle::Literal => Style::LITERAL,
            ScalarStyle::Folded => Style::FOLDED,
            ScalarStyle::Plain => Style::default(),
        };
        let value = std::mem::take(&mut self.event.value);
        let tag = std::mem::take(&mut self.event.tag);
        let default_tag = if node_style != Style::default() {
            STR_TAG
        } else if value == b"<<" {
            MERGE_TAG
        } else {
            ""
        };
        let id = self.new_node(Kind::Scalar, default_tag, &tag, value);
        self.nodes[id].style |= node_style;
        self.register_anchor(id);
        self.expect(EventKind::Scalar)?;
        Ok(id)
    }

    /// parser.alias: the anchor must already be defined.
    fn alias(&mut self) -> Result<usize, Error> {
        let name = self.event.anchor.take().unwrap_or_default();
        let target = self.anchors.get(&name).copied();
        let id = self.new_node(Kind::Alias, "", b"", name);
        let Some(target) = target else {
            let message = format!("yaml: unknown anchor '{}' referenced", self.nodes[id].value);
            return Err(Error::fatal(message));
        };
        self.nodes[id].alias = Some(target);
        self.expect(EventKind::Alias)?;
        Ok(id)
    }

    /// The start of parser.sequence / parser.mapping.
    fn collection_start(
        &mut self,
        kind: Kind,
        default_tag: &'static str,
        event: EventKind,
    ) -> Result<usize, Error> {
        let tag = std::mem::take(&mut self.event.tag);
        let id = self.new_node(kind, default_tag, &tag, Vec::new());
        if self.event.flow {
            self.nodes[id].style |= Style::FLOW;
        }
        self.register_anchor(id);
        self.expect(event)?;
        Ok(id)
    }
}

/// yaml.v3 panics with "internal error" on events its grammar never yields.
fn unexpected_event(kind: EventKind) -> Error {
    Error::fatal(format!(
        "{}attempted to parse unknown event: {}",
        super::error::GO_PANIC_PREFIX,
        kind.name()
    ))
}
