//! The check that a set of compiled templates can neither recurse without
//! end nor nest deeper than a thread's stack allows when it renders.
//!
//! Handlebars renders blocks, partials and subexpressions by recursion and
//! bounds none of them: a template that includes itself (directly, inside
//! a block, through other templates or through an inline partial), or
//! thousands of nested blocks, overflow the stack, which aborts the whole
//! process (`serve` with it) and cannot be caught. Handlebars offers no
//! hook to count depth while it renders, so the bound is proved before:
//! every partial a template may include is an edge of a graph over the
//! templates and their inline partials, which must have no cycle, and the
//! nesting along any path through it must stay within [`MAX_DEPTH`], and
//! the text it can expand into, each inclusion counted with all it
//! includes, within [`MAX_EXPANSION`] (a few bytes that include a partial
//! ten times, which includes another ten times, six deep, render a
//! million copies: no recursion, yet no end in sight). A set
//! that passes cannot render deeper than that, whatever the data; a
//! template given as text at render time is checked with the loaded set
//! before it renders ([`super::Templates::render_str`]).
//!
//! This module reads handlebars' syntax trees only; the text is checked
//! before it compiles by `scan.rs`, and `mod.rs` decides when to check.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use handlebars::template::{
    DecoratorTemplate, HelperTemplate, Parameter, Template, TemplateElement,
};
use serde_json::Value;

use crate::error::{Error, Place, Result};

/// How deep blocks (each `{{else if}}` of a chain counts as one),
/// partials and subexpressions may nest when a template renders, counted
/// across the partials it includes. Real templates nest a handful of
/// levels; each level costs up to 11 KiB of stack in a debug build (an
/// `{{#each}}`; a partial about 9 KiB), so 64 levels stay under 0.7 MiB of
/// the 2 MiB that threads get (the render workers and the server's), with
/// room for the frames below the renderer.
pub const MAX_DEPTH: usize = 64;

/// The name under which a partial block's content is included.
const PARTIAL_BLOCK: &str = "@partial-block";

/// The most text a template may expand into through its partials, counted
/// as each part's whole template once per time it renders (data can make
/// an `{{#each}}` render more; that is the data's size, not a template's).
/// Real sets stay under a megabyte by this count.
pub const MAX_EXPANSION: usize = 16 * 1024 * 1024;

/// A line and column in a template's file.
type Pos = (usize, usize);

/// What the check needs to know of one template: whom it and each of its
/// inline partials include, at what depth, and how deep they nest.
#[derive(Debug)]
pub struct Summary {
    /// The name other templates include it by; `None` for a text rendered
    /// once, which nothing can include.
    name: Option<String>,
    /// How messages name it, alone (template `a`) and in a chain (`a`).
    label: String,
    short: String,
    file: Option<PathBuf>,
    /// The template itself first, then its inline partials in order.
    parts: Vec<Part>,
    /// The template's length: what each of its parts counts for when it
    /// renders (an over-count for an inline partial).
    size: usize,
}

#[derive(Debug)]
struct Part {
    /// The inline partial's name; `None` for the template itself.
    inline: Option<String>,
    includes: Vec<Include>,
    /// Where the part first reaches each depth (inside itself, not counting
    /// what it includes): its length is the part's deepest nesting.
    reach: Vec<Option<Pos>>,
}

/// A partial included by name, at `depth` inside its part (counting the
/// inclusion itself).
#[derive(Debug)]
struct Include {
    name: String,
    depth: usize,
    at: Option<Pos>,
}

impl Summary {
    /// Reads `template`, registered as `name` (`None`: a text rendered
    /// once, shown as `label`) from `file`. Refuses what no later check
    /// could bound: nesting deeper than [`MAX_DEPTH`] inside the template
    /// itself, and partials whose name is computed at render time.
    pub fn of(
        name: Option<&str>,
        label: String,
        short: String,
        file: Option<&Path>,
        template: &Template,
        size: usize,
    ) -> Result<Summary> {
        let mut summary = Summary {
            name: name.map(str::to_string),
            label,
            short,
            file: file.map(Path::to_path_buf),
            parts: vec![Part::new(None)],
            size,
        };
        summary.walk(0, template, 0, 0, None)?;
        Ok(summary)
    }

    fn part_label(&self, part: usize) -> String {
        match &self.parts[part].inline {
            None => self.label.clone(),
            Some(inline) => format!("inline partial `{inline}` of {}", self.label),
        }
    }

    fn part_short(&self, part: usize) -> String {
        match &self.parts[part].inline {
            None => self.short.clone(),
            Some(inline) => format!("`{inline}` (inline in {})", self.short),
        }
    }

    fn error(&self, at: Option<Pos>, message: String) -> Error {
        let error = Error::new(message);
        match (&self.file, at) {
            (Some(file), Some((line, column))) => error.at(Place::at(file, line, column)),
            (Some(file), None) => error.at(Place::file(file)),
            (None, _) => error,
        }
    }

    fn too_deep(&self, part: usize, at: Option<Pos>, chain: &str) -> Error {
        self.error(
            at,
            format!(
                "{} nests blocks, partials and subexpressions more than {MAX_DEPTH} deep{chain} \
                 (coregen's limit, to keep rendering within the stack; an `{{{{else if}}}}` \
                 counts as a block)",
                self.part_label(part)
            ),
        )
    }

    /// Walks the elements of `template`, `depth` levels deep in `part` as
    /// it renders and `nest` levels deep in the text. Depth starts again in
    /// an inline partial's content, nesting does not: that bounds the walk
    /// itself, whose recursion stops past [`MAX_DEPTH`] levels of either.
    fn walk(
        &mut self,
        part: usize,
        template: &Template,
        depth: usize,
        nest: usize,
        outer: Option<Pos>,
    ) -> Result<()> {
        if nest > MAX_DEPTH {
            return Err(self.too_deep(part, outer, ""));
        }
        for (i, element) in template.elements.iter().enumerate() {
            // Chained `{{else if}}` nodes have no position of their own.
            let at = template.mapping.get(i).map(|m| (m.0, m.1)).or(outer);
            match element {
                TemplateElement::Expression(helper) | TemplateElement::HtmlExpression(helper) => {
                    self.helper_parameters(part, helper, depth, at)?;
                }
                TemplateElement::HelperBlock(helper) => {
                    self.helper_parameters(part, helper, depth, at)?;
                    let inner = self.deeper(part, depth, at)?;
                    for body in [&helper.template, &helper.inverse].into_iter().flatten() {
                        self.walk(part, body, inner, nest + 1, at)?;
                    }
                }
                TemplateElement::DecoratorExpression(decorator) => {
                    self.decorator_parameters(part, decorator, depth, at)?;
                }
                TemplateElement::DecoratorBlock(decorator) => {
                    self.decorator_parameters(part, decorator, depth, at)?;
                    self.decorator_block(part, decorator, depth, nest, at)?;
                }
                TemplateElement::PartialExpression(partial)
                | TemplateElement::PartialBlock(partial) => {
                    let name = self.partial_name(part, partial, at)?;
                    self.decorator_parameters(part, partial, depth, at)?;
                    let inner = self.deeper(part, depth, at)?;
                    // `@partial-block` writes the block's content, rendered
                    // where the block was; only its fallback renders here.
                    if name != PARTIAL_BLOCK {
                        self.parts[part].includes.push(Include {
                            name,
                            depth: inner,
                            at,
                        });
                    }
                    // A partial block's content renders where it stands
                    // (before the partial, or in its place when missing).
                    if let Some(body) = &partial.template {
                        self.walk(part, body, inner, nest + 1, at)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `{{#*inline "name"}}` defines a part of its own, rendered where it
    /// is included; any other decorator block's content is counted where
    /// it stands (coregen registers none, so they fail when rendered).
    fn decorator_block(
        &mut self,
        part: usize,
        decorator: &DecoratorTemplate,
        depth: usize,
        nest: usize,
        at: Option<Pos>,
    ) -> Result<()> {
        let Some(body) = &decorator.template else {
            return Ok(());
        };
        if decorator.name.as_name() != Some("inline") {
            let inner = self.deeper(part, depth, at)?;
            return self.walk(part, body, inner, nest + 1, at);
        }
        match decorator.params.first() {
            Some(Parameter::Literal(Value::String(name))) => {
                self.parts.push(Part::new(Some(name.clone())));
                let inline = self.parts.len() - 1;
                self.walk(inline, body, 0, nest + 1, at)
            }
            // Without a name, or with one that is not a string, handlebars
            // refuses the block when it renders; the content never does.
            None | Some(Parameter::Literal(_)) => Ok(()),
            Some(_) => Err(self.error(
                at,
                format!(
                    "{} names an inline partial by a value of the data; write its name as a \
                     quoted string, so that coregen can check the partials for recursion when \
                     templates load",
                    self.part_label(part)
                ),
            )),
        }
    }

    /// The name a partial is included by. A name computed at render time
    /// (`{{> (lookup ...)}}`) is refused: it could name any template, the
    /// one rendering it included, so no check before rendering could rule
    /// out endless recursion, and handlebars has no hook to count partials
    /// while it renders. Templates are files of the project, so a choice
    /// among them can be written with `{{#if}}` and fixed names instead.
    fn partial_name(
        &self,
        part: usize,
        partial: &DecoratorTemplate,
        at: Option<Pos>,
    ) -> Result<String> {
        // A fixed name or a path is taken as written; a subexpression (or a
        // literal, which the grammar does not produce) is computed.
        match partial.name.as_name() {
            Some(name) => Ok(name.to_string()),
            None => Err(self.error(
                at,
                format!(
                    "{} includes a partial whose name is computed at render time; coregen \
                     includes partials by fixed name only, so that it can check them for \
                     recursion when templates load (choose among names with `{{{{#if}}}}`)",
                    self.part_label(part)
                ),
            )),
        }
    }

    fn helper_parameters(
        &mut self,
        part: usize,
        helper: &HelperTemplate,
        depth: usize,
        at: Option<Pos>,
    ) -> Result<()> {
        self.parameter(part, &helper.name, depth, at)?;
        for p in helper.params.iter().chain(helper.hash.values()) {
            self.parameter(part, p, depth, at)?;
        }
        Ok(())
    }

    fn decorator_parameters(
        &mut self,
        part: usize,
        decorator: &DecoratorTemplate,
        depth: usize,
        at: Option<Pos>,
    ) -> Result<()> {
        self.parameter(part, &decorator.name, depth, at)?;
        for p in decorator.params.iter().chain(decorator.hash.values()) {
            self.parameter(part, p, depth, at)?;
        }
        Ok(())
    }

    /// A subexpression is evaluated by recursion too: one level each.
    fn parameter(
        &mut self,
        part: usize,
        parameter: &Parameter,
        depth: usize,
        at: Option<Pos>,
    ) -> Result<()> {
        let Parameter::Subexpression(sub) = parameter else {
            return Ok(());
        };
        let inner = self.deeper(part, depth, at)?;
        match sub.as_element() {
            TemplateElement::Expression(helper) => self.helper_parameters(part, helper, inner, at),
            _ => Ok(()),
        }
    }

    /// One level below `depth` in `part`, refused past [`MAX_DEPTH`].
    fn deeper(&mut self, part: usize, depth: usize, at: Option<Pos>) -> Result<usize> {
        let inner = depth + 1;
        if inner > MAX_DEPTH {
            return Err(self.too_deep(part, at, ""));
        }
        let reach = &mut self.parts[part].reach;
        if inner > reach.len() {
            reach.push(at);
        }
        Ok(inner)
    }
}

impl Part {
    fn new(inline: Option<String>) -> Part {
        Part {
            inline,
            includes: Vec::new(),
            reach: Vec::new(),
        }
    }

    fn deepest(&self) -> usize {
        self.reach.len()
    }
}

/// A part of a summary: (summary, part) indices.
type Node = (usize, usize);

#[derive(Clone, Copy)]
enum Mark {
    New,
    /// On the path being walked: meeting it again is a cycle.
    Open,
    /// Walked; the deepest nesting it renders, counting what it includes,
    /// and the text it expands into.
    Done(usize, usize),
}

/// Checks `summaries` together, as the templates of one registry (and at
/// most one text rendered with them): no part includes itself, through any
/// chain of partials, and none renders deeper than [`MAX_DEPTH`].
///
/// `{{> x}}` may include the template `x` or any inline partial `x`: an
/// inline partial is seen by the partials rendered inside its template too,
/// and shadows a template of its name there, so every one is counted as a
/// possible target. This may refuse a set that would end, never pass one
/// that would not.
pub fn check(summaries: &[&Summary]) -> Result<()> {
    let mut targets: HashMap<&str, Vec<Node>> = HashMap::new();
    for (s, summary) in summaries.iter().enumerate() {
        if let Some(name) = &summary.name {
            targets.entry(name).or_default().push((s, 0));
        }
    }
    for (s, summary) in summaries.iter().enumerate() {
        for (p, part) in summary.parts.iter().enumerate() {
            if let Some(name) = &part.inline {
                targets.entry(name).or_default().push((s, p));
            }
        }
    }
    let mut graph = Graph {
        summaries,
        targets,
        marks: summaries
            .iter()
            .map(|s| vec![Mark::New; s.parts.len()])
            .collect(),
        path: Vec::new(),
    };
    for (s, summary) in summaries.iter().enumerate() {
        for p in 0..summary.parts.len() {
            if let Mark::New = graph.marks[s][p] {
                graph.visit((s, p), 0)?;
            }
        }
    }
    Ok(())
}

struct Graph<'a> {
    summaries: &'a [&'a Summary],
    targets: HashMap<&'a str, Vec<Node>>,
    marks: Vec<Vec<Mark>>,
    /// The parts walked from the root to the current one, each with the
    /// inclusion it was left by.
    path: Vec<(Node, &'a Include)>,
}

impl<'a> Graph<'a> {
    fn part(&self, (s, p): Node) -> &'a Part {
        &self.summaries[s].parts[p]
    }

    /// Walks `node`, rendered `base` levels deep, and returns how deep it
    /// renders itself. Each inclusion is at least one level deeper and the
    /// walk stops past [`MAX_DEPTH`], so the recursion is bounded.
    fn visit(&mut self, node: Node, base: usize) -> Result<(usize, usize)> {
        let part = self.part(node);
        if base + part.deepest() > MAX_DEPTH {
            // Where the part reaches one level past the bound. The parent
            // checked that `base` itself is within it.
            let at = part.reach[MAX_DEPTH - base];
            return Err(self.too_deep(node, at));
        }
        self.marks[node.0][node.1] = Mark::Open;
        let mut deepest = part.deepest();
        let mut expansion = self.summaries[node.0].size;
        for include in &part.includes {
            let targets = self.targets.get(include.name.as_str()).cloned();
            for target in targets.into_iter().flatten() {
                self.path.push((node, include));
                let (below, text) = match self.marks[target.0][target.1] {
                    Mark::Open => return Err(self.cycle(target)),
                    Mark::Done(d, text) if base + include.depth + d <= MAX_DEPTH => (d, text),
                    // Walked already but too deep from here: walking it
                    // again finds where.
                    _ => self.visit(target, base + include.depth)?,
                };
                self.path.pop();
                deepest = deepest.max(include.depth + below);
                expansion = expansion.saturating_add(text);
                if expansion > MAX_EXPANSION {
                    return Err(self.too_wide(node, include.at));
                }
            }
        }
        self.marks[node.0][node.1] = Mark::Done(deepest, expansion);
        Ok((deepest, expansion))
    }

    fn too_wide(&self, (s, p): Node, at: Option<Pos>) -> Error {
        let summary = self.summaries[s];
        summary.error(
            at,
            format!(
                "{} expands into more than {} MiB of text through the partials it includes, \
                 each inclusion rendering the partial again with all it includes (coregen's \
                 limit, so that no render runs away)",
                summary.part_label(p),
                MAX_EXPANSION / (1024 * 1024)
            ),
        )
    }

    fn too_deep(&self, (s, p): Node, at: Option<Pos>) -> Error {
        let summary = self.summaries[s];
        let chain = match self.path.first() {
            None => String::new(),
            Some(&((rs, rp), _)) => {
                let mut names: Vec<String> = self.path[1..]
                    .iter()
                    .map(|&((s, p), _)| self.summaries[s].part_short(p))
                    .collect();
                names.push(summary.part_short(p));
                format!(
                    " when included from {} through {}",
                    self.summaries[rs].part_label(rp),
                    names.join(" -> ")
                )
            }
        };
        summary.too_deep(p, at, &chain)
    }

    /// The cycle that closes at `target`: reported at the inclusion by
    /// which `target` starts it.
    fn cycle(&self, target: Node) -> Error {
        let start = self
            .path
            .iter()
            .position(|&(node, _)| node == target)
            .expect("an open part is on the path");
        let summary = self.summaries[target.0];
        let through: Vec<String> = self.path[start + 1..]
            .iter()
            .map(|&((s, p), _)| self.summaries[s].part_short(p))
            .chain([summary.part_short(target.1)])
            .collect();
        let mut message = format!("{} includes itself", summary.part_label(target.1));
        if through.len() > 1 {
            message.push_str(&format!(" through {}", through.join(" -> ")));
        }
        summary.error(self.path[start].1.at, message)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use handlebars::Context;
    use serde_json::json;

    use super::super::{Origin, Templates};
    use super::*;

    /// The built-ins with `files` as `templates/<name>.hbs` on top, checked
    /// as [`Templates::load`] checks them.
    fn load(files: &[(&str, &str)]) -> Result<Templates> {
        let mut templates = Templates::built_in();
        for (name, text) in files {
            let file = PathBuf::from(format!("templates/{name}.hbs"));
            templates.register(name, text, Origin::File(file))?;
        }
        templates.check_limits()?;
        Ok(templates)
    }

    fn refused(files: &[(&str, &str)]) -> String {
        match load(files) {
            Ok(_) => panic!("{files:?} loaded"),
            Err(e) => e.to_string(),
        }
    }

    fn context() -> Context {
        Context::wraps(json!({"host": {"name": "node1"}, "arr": [1], "vars": {}})).unwrap()
    }

    fn nested(open: &str, close: &str, n: usize, inside: &str) -> String {
        format!("{}{inside}{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn a_template_that_includes_itself_is_refused() {
        assert_eq!(
            refused(&[("a", "x\n  {{> a}}\n")]),
            "templates/a.hbs:2:3: template `a` includes itself"
        );
        // Handlebars notices only the direct case itself; inside a block it
        // recursed until the stack overflowed.
        assert_eq!(
            refused(&[("a", "{{#if true}}\n{{#each x}}{{> a}}{{/each}}{{/if}}")]),
            "templates/a.hbs:2:12: template `a` includes itself"
        );
        let zincati = "{{#if true}}{{> zincati-updates.toml}}{{/if}}";
        assert_eq!(
            refused(&[("zincati-updates.toml", zincati)]),
            "templates/zincati-updates.toml.hbs:1:13: template `zincati-updates.toml` includes \
             itself"
        );
    }

    #[test]
    fn an_inline_partial_that_includes_itself_is_refused() {
        assert_eq!(
            refused(&[("a", "{{#*inline \"x\"}}{{> x}}{{/inline}}{{> x}}")]),
            "templates/a.hbs:1:17: inline partial `x` of template `a` includes itself"
        );
        // Through a template, which sees the inline partial of its caller.
        let err = refused(&[
            ("a", "{{#*inline \"x\"}}{{> b}}{{/inline}}{{> x}}"),
            ("b", "{{#if true}}{{> x}}{{/if}}"),
        ]);
        assert_eq!(
            err,
            "templates/a.hbs:1:17: inline partial `x` of template `a` includes itself through \
             `b` -> `x` (inline in `a`)"
        );
    }

    #[test]
    fn cycles_between_templates_are_refused() {
        assert_eq!(
            refused(&[("a", "a\n\n    {{> b}}"), ("b", "{{> a}}")]),
            "templates/a.hbs:3:5: template `a` includes itself through `b` -> `a`"
        );
        assert_eq!(
            refused(&[
                ("a", "{{#> b}}block{{/b}}"),
                ("b", "{{#with x}}{{> c}}{{/with}}"),
                ("c", "{{#unless y}}{{else}}{{> a}}{{/unless}}"),
            ]),
            "templates/a.hbs:1:1: template `a` includes itself through `b` -> `c` -> `a`"
        );
        // A cycle away from the first template is reported where it starts.
        assert_eq!(
            refused(&[("a", "{{> b}}"), ("b", "{{> c}}"), ("c", "{{> b}}")]),
            "templates/b.hbs:1:1: template `b` includes itself through `c` -> `b`"
        );
    }

    #[test]
    fn deep_nesting_is_refused_where_it_passes_the_bound() {
        let ok = nested("{{#if true}}", "{{/if}}", MAX_DEPTH, "x");
        assert!(load(&[("a", &ok)]).is_ok());
        let err = refused(&[("a", &nested("{{#if true}}\n", "{{/if}}", 500, "x"))]);
        assert!(
            err.starts_with(&format!(
                "templates/a.hbs:{}:1: template `a` nests blocks, partials and subexpressions \
                 more than {MAX_DEPTH} deep",
                MAX_DEPTH + 1
            )),
            "{err}"
        );
        // Thousands of levels stop the parser, on a test's 2 MiB thread.
        let err = refused(&[("a", &nested("{{#if true}}", "{{/if}}", 13_000, "x"))]);
        assert!(err.contains("blocks nest too deep for the parser"), "{err}");
        // Subexpressions count, and so does each `{{else if}}` of a chain.
        let sub = nested("(lookup ", " 0)", MAX_DEPTH + 1, "x");
        assert!(refused(&[("a", &format!("{{{{lookup {sub} 0}}}}"))]).contains("more than 64"));
        let chain = |n: usize| format!("{{{{#if a}}}}{}{{{{/if}}}}", "{{else if a}}".repeat(n));
        assert!(load(&[("a", &chain(MAX_DEPTH - 1))]).is_ok());
        assert!(refused(&[("a", &chain(MAX_DEPTH))]).contains("more than 64"));
    }

    #[test]
    fn inline_partials_nested_in_each_other_are_bounded_too() {
        // Each inline partial's content starts at depth 0 when rendered;
        // nested in the text, they still count, so the walk stays bounded.
        let inline = nested("{{#*inline \"x\"}}", "{{/inline}}", MAX_DEPTH + 1, "x");
        assert!(refused(&[("a", &inline)]).contains("more than 64 deep"));
        let inline = nested("{{#*inline \"x\"}}", "{{/inline}}", MAX_DEPTH, "x");
        assert!(load(&[("a", &inline)]).is_ok());
    }

    #[test]
    fn depth_counts_across_partials() {
        // Three templates of 30 levels each: each fits, the chain does not.
        let level = |next: &str| {
            nested(
                "{{#with this}}",
                "{{/with}}",
                29,
                &format!("{{{{> {next}}}}}"),
            )
        };
        let err = refused(&[
            ("a", &level("b")),
            ("b", &level("c")),
            ("c", &level("d")),
            ("d", ""),
        ]);
        assert!(
            err.starts_with(
                "templates/c.hbs:1:57: template `c` nests blocks, partials and subexpressions \
                 more than 64 deep when included from template `a` through `b` -> `c`"
            ),
            "{err}"
        );
        assert!(load(&[("a", &level("b")), ("b", &level("d")), ("d", "")]).is_ok());
    }

    #[test]
    fn shared_partials_and_layouts_still_load_and_render() {
        let t = load(&[
            ("a", "{{> b}}{{> c}}{{> d}}{{> d}}"),
            ("b", "{{#if true}}{{> d}}{{/if}}"),
            ("c", "{{> d}}"),
            ("d", "[{{host.name}}]"),
            ("layout", "<{{> @partial-block}}|{{> nav}}>"),
            (
                "page",
                "{{#*inline \"nav\"}}nav{{/inline}}{{#> layout}}{{> d}}{{/layout}}",
            ),
        ])
        .unwrap();
        assert_eq!(t.render("a", &context()).unwrap(), "[node1]".repeat(4));
        assert_eq!(t.render("page", &context()).unwrap(), "<[node1]|nav>");
    }

    #[test]
    fn partials_named_at_render_time_are_refused() {
        let err = refused(&[("a", "ok\n{{> (lookup vars \"p\")}}")]);
        assert!(
            err.starts_with(
                "templates/a.hbs:2:1: template `a` includes a partial whose name is computed at \
                 render time"
            ),
            "{err}"
        );
        let err = refused(&[("a", "{{#*inline vars.p}}x{{/inline}}")]);
        assert!(
            err.starts_with("templates/a.hbs:1:1: template `a` names an inline partial by a value"),
            "{err}"
        );
    }

    #[test]
    fn a_text_rendered_once_is_checked_with_the_loaded_templates() {
        let deep = nested(
            "{{#with this}}",
            "{{/with}}",
            MAX_DEPTH - 1,
            "{{host.name}}",
        );
        let t = load(&[("deep", &deep), ("b", "{{> x}}")]).unwrap();
        let ctx = context();
        assert_eq!(t.render_str("{{> deep}}", &ctx).unwrap(), "node1");
        assert_eq!(
            t.render_str("{{host.name}}.example", &ctx).unwrap(),
            "node1.example"
        );

        // Each of these would have recursed until the stack overflowed.
        let itself = "{{#*inline \"x\"}}{{> x}}{{/inline}}{{> x}}";
        let err = t.render_str(itself, &ctx).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("inline partial `x` of template {itself:?} includes itself")
        );
        // The loaded `b` includes `x`, which the text defines as `b`.
        let through = "{{#*inline \"x\"}}{{> b}}{{/inline}}{{> x}}";
        let err = t.render_str(through, &ctx).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "templates/b.hbs:1:1: template `b` includes itself through `x` (inline in \
                 {through:?}) -> `b`"
            )
        );
        let deeper = "{{#if true}}{{> deep}}{{/if}}";
        let err = t.render_str(deeper, &ctx).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "templates/deep.hbs:1:869: template `deep` nests blocks, partials and \
                 subexpressions more than 64 deep when included from template"
            ),
            "{err}"
        );
        let sub = nested("(lookup ", " 0)", 10_000, "x");
        let err = t
            .render_str(&format!("{{{{lookup {sub} 0}}}}"), &ctx)
            .unwrap_err();
        assert!(
            err.to_string().contains("subexpressions nest more than"),
            "{err}"
        );
    }

    #[test]
    fn the_deepest_template_accepted_renders_on_a_small_stack() {
        // `{{#each}}` and partials cost the most stack per level; a chain
        // of them exactly MAX_DEPTH deep, rendered on a thread with the
        // 2 MiB that render workers and the server's threads get.
        let mut files: Vec<(String, String)> = (0..MAX_DEPTH / 2 - 1)
            .map(|i| {
                (
                    format!("t{i}"),
                    format!("{{{{#each @root.arr}}}}{{{{> t{}}}}}{{{{/each}}}}", i + 1),
                )
            })
            .collect();
        let last = format!("t{}", MAX_DEPTH / 2 - 1);
        files.push((
            last,
            "{{#each @root.arr}}{{lookup (lookup @root.h \"a\") \"name\"}}{{/each}}".into(),
        ));
        let files: Vec<(&str, &str)> = files
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        let t = load(&files).unwrap();
        let ctx = Context::wraps(json!({"h": {"a": {"name": "node1"}}, "arr": [1]})).unwrap();
        // One level more is refused.
        assert!(t.render_str("{{#if true}}{{> t0}}{{/if}}", &ctx).is_err());
        let rendered = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || t.render("t0", &ctx).map_err(|e| e.to_string()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(rendered.unwrap(), "node1");
    }

    #[test]
    fn built_in_templates_pass() {
        let t = Templates::built_in();
        assert!(t.check_limits().is_ok());
    }
}
