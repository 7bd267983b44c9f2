//! The node tree (yaml.v3's `yaml.Node`) and its read-only API.
//!
//! Boundary: this module defines what a parsed document looks like and how
//! to read it (`kind`, `tag`, `short_tag`, `value`, `line`, ...). Building
//! the tree is `compose.rs`'s job; decoding it into typed values is
//! `decode.rs`'s.
//!
//! Nodes live in one arena per document and `Node` is a cheap handle (an
//! `Arc` to the arena plus an index). This is needed because, as in yaml.v3,
//! an alias may point at an ancestor of itself (`&a [*a]`), which an owned
//! tree cannot express, and because alias targets are shared, not copied.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::resolve::{self, MAP_TAG, NULL_TAG, SEQ_TAG, STR_TAG};

/// yaml.v3's `Kind` (the numeric values are Go's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Document = 1,
    Sequence = 2,
    Mapping = 4,
    Scalar = 8,
    Alias = 16,
}

/// yaml.v3's `Style` bit set (the bit values are Go's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Style(u32);

impl Style {
    pub const TAGGED: Style = Style(1);
    pub const DOUBLE_QUOTED: Style = Style(2);
    pub const SINGLE_QUOTED: Style = Style(4);
    pub const LITERAL: Style = Style(8);
    pub const FOLDED: Style = Style(16);
    pub const FLOW: Style = Style(32);

    /// The raw bits, as Go's `Node.Style`.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether all bits of `other` are set.
    pub fn contains(self, other: Style) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    pub fn intersects(self, other: Style) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for Style {
    type Output = Style;
    fn bitor(self, rhs: Style) -> Style {
        Style(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for Style {
    fn bitor_assign(&mut self, rhs: Style) {
        self.0 |= rhs.0;
    }
}

/// One node as stored in the arena.
#[derive(Clone, Debug)]
pub(super) struct NodeData {
    pub(super) kind: Kind,
    pub(super) style: Style,
    pub(super) tag: Cow<'static, str>,
    pub(super) value: String,
    pub(super) anchor: String,
    pub(super) alias: Option<usize>,
    pub(super) content: Vec<usize>,
    pub(super) line: usize,
    pub(super) column: usize,
}

/// All nodes of one document; index 0 is the document node.
#[derive(Debug)]
pub(super) struct Tree {
    pub(super) nodes: Vec<NodeData>,
}

/// A node of a parsed document (yaml.v3's `*yaml.Node`). Cloning is cheap.
#[derive(Clone)]
pub struct Node {
    tree: Arc<Tree>,
    id: usize,
}

impl Node {
    pub(super) fn new(tree: Arc<Tree>, id: usize) -> Self {
        Node { tree, id }
    }

    fn data(&self) -> &NodeData {
        &self.tree.nodes[self.id]
    }

    fn at(&self, id: usize) -> Node {
        Node::new(Arc::clone(&self.tree), id)
    }

    /// Node.Kind.
    pub fn kind(&self) -> Kind {
        self.data().kind
    }

    /// Node.Style.
    pub fn style(&self) -> Style {
        self.data().style
    }

    /// Node.Tag as yaml.v3's parser stores it: the short form of an explicit
    /// tag ("!!int", "!foo"), else the resolved tag of a plain scalar, "!!str"
    /// for other scalars, "!!seq"/"!!map" for collections, "" for documents
    /// and aliases.
    pub fn tag(&self) -> &str {
        &self.data().tag
    }

    /// Node.Value: scalar text, or the anchor name for an alias.
    pub fn value(&self) -> &str {
        &self.data().value
    }

    /// Node.Anchor ("" if none).
    pub fn anchor(&self) -> &str {
        &self.data().anchor
    }

    /// Node.Alias: the node an alias refers to.
    pub fn alias(&self) -> Option<Node> {
        self.data().alias.map(|id| self.at(id))
    }

    /// Node.Line (1-based).
    pub fn line(&self) -> usize {
        self.data().line
    }

    /// Node.Column (1-based, in characters).
    pub fn column(&self) -> usize {
        self.data().column
    }

    /// Node.Content: children; a mapping's are key, value, key, value, ...
    pub fn content(&self) -> impl ExactSizeIterator<Item = Node> + '_ {
        self.data().content.iter().map(|&id| self.at(id))
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.data().content.len()
    }

    /// Whether there are no children.
    pub fn is_empty(&self) -> bool {
        self.data().content.is_empty()
    }

    /// Child `i`, if any.
    pub fn child(&self, i: usize) -> Option<Node> {
        self.data().content.get(i).map(|&id| self.at(id))
    }

    /// A mapping's (key, value) pairs in document order.
    pub fn pairs(&self) -> impl Iterator<Item = (Node, Node)> + '_ {
        self.data()
            .content
            .chunks_exact(2)
            .map(|pair| (self.at(pair[0]), self.at(pair[1])))
    }

    /// The document node this node belongs to.
    pub fn document(&self) -> Node {
        self.at(0)
    }

    /// Whether both handles denote the same node (Go pointer equality).
    pub fn same_node(&self, other: &Node) -> bool {
        Arc::ptr_eq(&self.tree, &other.tree) && self.id == other.id
    }

    /// A number identifying this node within its document.
    pub fn id(&self) -> usize {
        self.id
    }

    /// yaml.v3's `Node.ShortTag()`: the tag in "!!x" form, resolving
    /// untagged scalars and following aliases.
    pub fn short_tag(&self) -> Cow<'_, str> {
        if self.indicated_string() {
            return Cow::Borrowed(STR_TAG);
        }
        let data = self.data();
        if data.tag.is_empty() || data.tag == "!" {
            return match data.kind {
                Kind::Mapping => Cow::Borrowed(MAP_TAG),
                Kind::Sequence => Cow::Borrowed(SEQ_TAG),
                Kind::Alias => match data.alias {
                    // Anchors never sit on aliases, so this recursion ends.
                    Some(id) => Cow::Owned(self.at(id).short_tag().into_owned()),
                    None => Cow::Borrowed(""),
                },
                Kind::Scalar => Cow::Borrowed(resolve::resolve_plain_tag(&data.value)),
                Kind::Document => Cow::Borrowed(""),
            };
        }
        if data.tag.starts_with("tag:yaml.org,2002:") {
            return Cow::Owned(resolve::short_tag(&data.tag));
        }
        Cow::Borrowed(&data.tag)
    }

    /// Whether ShortTag is "!!null".
    pub fn is_null(&self) -> bool {
        self.short_tag() == NULL_TAG
    }

    /// yaml.v3's `indicatedString`: a scalar tagged !!str, or an untagged
    /// quoted, literal or folded scalar.
    pub fn indicated_string(&self) -> bool {
        let data = self.data();
        let quoted = Style::DOUBLE_QUOTED | Style::SINGLE_QUOTED | Style::LITERAL | Style::FOLDED;
        data.kind == Kind::Scalar
            && (resolve::short_tag(&data.tag) == STR_TAG
                || ((data.tag.is_empty() || data.tag == "!") && data.style.intersects(quoted)))
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.data();
        let mut s = f.debug_struct("Node");
        s.field("kind", &data.kind)
            .field("tag", &data.tag)
            .field("value", &data.value)
            .field("line", &data.line)
            .field("column", &data.column);
        if !data.anchor.is_empty() {
            s.field("anchor", &data.anchor);
        }
        // Children are only counted: printing them could recurse 10000 deep.
        if !data.content.is_empty() {
            s.field("children", &data.content.len());
        }
        s.finish()
    }
}
