//! Finding the place in the document that a report entry concerns, as
//! vcontext's context tree does for upstream.
//!
//! A path is followed step by step through the parsed YAML: a field through
//! a mapping's value (the last one, when a key repeats), a key through the
//! mapping key itself, an index through a sequence. An alias is a leaf.
//! When a path leads nowhere, its longest existing prefix gives the place,
//! so an entry about a generated field points at what generated it.

use super::report::{Elem, Path, Pos, Report};
use super::yaml::{Kind, Node};

/// The node at `path`, if the document has one there.
pub(crate) fn get(root: &Node, path: &Path) -> Option<Node> {
    let mut node = root.clone();
    for elem in &path.elems {
        node = child(&node, elem)?;
    }
    Some(node)
}

fn child(node: &Node, elem: &Elem) -> Option<Node> {
    match (node.kind(), elem) {
        (Kind::Mapping, Elem::Field(name)) => node
            .pairs()
            .filter(|(k, _)| k.value() == name)
            .last()
            .map(|(_, v)| v),
        (Kind::Mapping, Elem::Key(name)) => node
            .pairs()
            .filter(|(k, _)| k.value() == name)
            .last()
            .map(|(k, _)| k),
        (Kind::Sequence, Elem::Index(i)) => node.child(*i),
        _ => None,
    }
}

/// The position of the deepest node on `path`.
pub(crate) fn position(root: &Node, path: &Path) -> Pos {
    let mut node = root.clone();
    for elem in &path.elems {
        match child(&node, elem) {
            Some(next) => node = next,
            None => break,
        }
    }
    Pos {
        line: node.line(),
        column: node.column(),
    }
}

/// Gives every entry the position of its path in the document.
pub(crate) fn correlate(report: &mut Report, root: &Node) {
    for entry in &mut report.entries {
        entry.marker = Some(position(root, &entry.path));
    }
}
