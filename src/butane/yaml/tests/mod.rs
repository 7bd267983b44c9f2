//! Whole-module tests against yaml.v3's recorded behaviour: the Butane corpus
//! (node trees), one input per error class, scalar and struct decoding, and
//! robustness (alias bombs, depth, huge error counts, random bytes).
//!
//! Boundary: expectations in `expected.rs` and `corpus/` were produced by Go's
//! yaml.v3 through difftest/gen_fixtures.py; unit tests of single layers live
//! next to their code.

mod expected;

use super::*;

/// The oracle's node dump: one line per node in pre-order.
fn dump_tree(doc: &Node) -> String {
    let mut order = Vec::new();
    let mut stack = vec![(doc.clone(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        let children: Vec<Node> = node.content().collect();
        stack.extend(children.into_iter().rev().map(|c| (c, depth + 1)));
        order.push((node, depth));
    }
    let mut out = String::new();
    for (i, (node, depth)) in order.iter().enumerate() {
        let alias = match node.alias() {
            None => "-".to_string(),
            Some(target) => order
                .iter()
                .position(|(n, _)| n.same_node(&target))
                .map_or("?".to_string(), |i| i.to_string()),
        };
        out += &format!(
            "{}{} k={} s={} t={} st={} v={} a={} al={} {}:{}\n",
            " ".repeat(*depth),
            i,
            node.kind() as u32,
            node.style().bits(),
            go_quote(node.tag().as_bytes()),
            go_quote(node.short_tag().as_bytes()),
            go_quote(node.value().as_bytes()),
            go_quote(node.anchor().as_bytes()),
            alias,
            node.line(),
            node.column()
        );
    }
    out
}

/// What the oracle prints for `yaml.Unmarshal(input, &node)`.
fn node_output(input: &[u8]) -> String {
    match parse_document(input) {
        Ok(Some(doc)) => dump_tree(&doc),
        Ok(None) => "EMPTY\n".to_string(),
        Err(err) => format!("ERR {}\n", go_quote(&err.message_bytes())),
    }
}

#[test]
fn corpus_documents_match_yaml_v3() {
    for (name, input, nodes) in expected::CORPUS {
        assert_eq!(node_output(input), *nodes, "corpus document {name}");
    }
}

#[test]
fn unterminated_quote_reports_end_of_stream() {
    let (_, input, _) = expected::CORPUS
        .iter()
        .find(|(name, _, _)| *name == "83-error-yaml-syntax")
        .expect("corpus has document 83");
    let err = parse(input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "yaml: line 7: found unexpected end of stream"
    );
}

#[test]
fn error_classes_and_constructs_match_yaml_v3() {
    for (label, input, output) in expected::NODE_CASES {
        assert_eq!(node_output(input), *output, "{label}");
    }
}

// ----- Typed decoding ----------------------------------------------------------

/// Prints decoded values like the oracle's `dumpValue`.
trait Dump {
    fn dump(&self) -> String;
}

impl Dump for String {
    fn dump(&self) -> String {
        go_quote(self.as_bytes())
    }
}

impl Dump for i64 {
    fn dump(&self) -> String {
        self.to_string()
    }
}

impl Dump for bool {
    fn dump(&self) -> String {
        self.to_string()
    }
}

impl<T: Dump> Dump for Option<T> {
    fn dump(&self) -> String {
        self.as_ref()
            .map_or("nil".to_string(), |v| format!("&{}", v.dump()))
    }
}

impl<T: Dump> Dump for Vec<T> {
    fn dump(&self) -> String {
        let items: Vec<String> = self.iter().map(Dump::dump).collect();
        format!("[{}]", items.join(","))
    }
}

fn error_text(result: &Result<(), Error>) -> String {
    match result {
        Ok(()) => "ok".to_string(),
        Err(err) => go_quote(&err.message_bytes()),
    }
}

fn decoded<T: Decode + Dump + Default>(input: &[u8]) -> String {
    let mut value = T::default();
    let result = unmarshal(input, &mut value);
    format!("{} {}", value.dump(), error_text(&result))
}

#[test]
fn scalar_decoding_matches_yaml_v3() {
    for (label, input, results) in expected::DECODE_CASES {
        for (target, want) in *results {
            let got = match *target {
                "string" => decoded::<String>(input),
                "*string" => decoded::<Option<String>>(input),
                "int" => decoded::<i64>(input),
                "*int" => decoded::<Option<i64>>(input),
                "bool" => decoded::<bool>(input),
                "*bool" => decoded::<Option<bool>>(input),
                "[]string" => decoded::<Vec<String>>(input),
                "[]*int" => decoded::<Vec<Option<i64>>>(input),
                other => panic!("unexpected target {other}"),
            };
            assert_eq!(got, *want, "{label}: decoding into {target}");
        }
    }
}

/// The part of the oracle's Butane-like types the struct cases touch, with
/// the same Go type names and field lists.
#[derive(Default, Debug)]
struct File {
    path: String,
    overwrite: Option<bool>,
    mode: Option<i64>,
}

impl Decode for File {
    fn go_type_name() -> String {
        "main.File".to_string()
    }

    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
        const FIELDS: &[&str] = &["path", "overwrite", "user", "append", "contents", "mode"];
        d.decode_struct(node, "main.File", FIELDS, |d, field| {
            match field.index {
                0 => d.unmarshal(field.value, &mut self.path)?,
                1 => d.unmarshal(field.value, &mut self.overwrite)?,
                5 => d.unmarshal(field.value, &mut self.mode)?,
                _ => false,
            };
            Ok(())
        })
    }
}

#[derive(Default, Debug)]
struct Storage {
    files: Vec<File>,
}

impl Decode for Storage {
    fn go_type_name() -> String {
        "main.Storage".to_string()
    }

    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
        const FIELDS: &[&str] = &["directories", "files", "links"];
        d.decode_struct(node, "main.Storage", FIELDS, |d, field| {
            if field.index == 1 {
                d.unmarshal(field.value, &mut self.files)?;
            }
            Ok(())
        })
    }
}

#[derive(Default, Debug)]
struct Config {
    storage: Storage,
}

impl Decode for Config {
    fn go_type_name() -> String {
        "main.Config".to_string()
    }

    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
        const FIELDS: &[&str] = &[
            "variant",
            "version",
            "kernel_arguments",
            "passwd",
            "storage",
            "systemd",
            "boot_device",
        ];
        d.decode_struct(node, "main.Config", FIELDS, |d, field| {
            if field.index == 4 {
                d.unmarshal(field.value, &mut self.storage)?;
            }
            Ok(())
        })
    }
}

/// Go: `type Nest []Nest`, which accepts any nesting and expands aliases.
#[derive(Default)]
struct Nest(Vec<Nest>);

impl Decode for Nest {
    fn go_type_name() -> String {
        "main.Nest".to_string()
    }

    fn decode(&mut self, d: &mut Decoder, node: &Node) -> Result<bool, Error> {
        d.decode_slice(node, &mut self.0, "main.Nest")
    }
}

fn decode_config(input: &[u8]) -> (Config, Result<(), Error>) {
    let mut config = Config::default();
    let result = unmarshal(input, &mut config);
    (config, result)
}

#[test]
fn struct_decoding_errors_match_yaml_v3() {
    for (label, input, want) in expected::STRUCT_CASES {
        let (_, result) = decode_config(input);
        assert_eq!(error_text(&result), *want, "{label}");
    }
}

#[test]
fn merge_keys_fill_only_unset_fields() {
    let (config, result) = decode_config(
        b"base: &b {path: /a, mode: 420}\nstorage:\n  files:\n    - <<: *b\n      path: /c\n",
    );
    assert!(result.is_ok());
    let file = &config.storage.files[0];
    assert_eq!((file.path.as_str(), file.mode), ("/c", Some(420)));

    // In a sequence of merged maps the earlier one wins.
    let (config, result) = decode_config(
        b"x: &x {mode: 1}\ny: &y {mode: 2, overwrite: true}\nstorage: {files: [{<<: [*x, *y]}]}\n",
    );
    assert!(result.is_ok());
    let file = &config.storage.files[0];
    assert_eq!((file.mode, file.overwrite), (Some(1), Some(true)));
}

#[test]
fn merge_value_must_be_a_mapping() {
    let (_, result) = decode_config(b"storage: {files: [{<<: [1]}]}\n");
    assert_eq!(
        result.unwrap_err().to_string(),
        "yaml: map merge requires map or sequence of maps as the value"
    );
}

#[test]
fn self_containing_alias_is_refused() {
    let mut nest = Nest::default();
    let err = unmarshal(b"&a [x, *a]\n", &mut nest).unwrap_err();
    assert_eq!(err.to_string(), "yaml: anchor 'a' value contains itself");
}

#[test]
fn alias_bomb_is_stopped() {
    let mut doc = b"- &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n".to_vec();
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        doc.extend_from_slice(format!("- &a{i} [{refs}]\n").as_bytes());
    }
    let mut nest = Nest::default();
    let err = unmarshal(&doc, &mut nest).unwrap_err();
    assert_eq!(
        err.to_string(),
        "yaml: document contains excessive aliasing"
    );
}

#[test]
fn deep_documents_do_not_overflow_the_stack() {
    let flow = "[".repeat(10_000) + &"]".repeat(10_000);
    assert!(parse(flow.as_bytes()).unwrap().is_some());
    let block = "- ".repeat(9_999) + "a\n";
    assert!(parse(block.as_bytes()).unwrap().is_some());
    let mut nest = Nest::default();
    let err = unmarshal(flow.as_bytes(), &mut nest).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("yaml: exceeded max depth of {MAX_DECODE_DEPTH} while decoding")
    );
}

#[test]
fn duplicate_keys_are_reported_per_pair() {
    let (_, result) =
        decode_config(b"storage:\n  files:\n    - path: /a\n      path: /b\n      path: /c\n");
    assert_eq!(
        result.unwrap_err().to_string(),
        "yaml: unmarshal errors:\n  line 4: mapping key \"path\" already defined at line 3\n  \
         line 5: mapping key \"path\" already defined at line 3\n  \
         line 5: mapping key \"path\" already defined at line 4"
    );
    let many = "a: 1\n".repeat(1_000);
    let (_, result) = decode_config(many.as_bytes());
    assert!(
        result
            .unwrap_err()
            .to_string()
            .starts_with("yaml: more than")
    );
}

#[test]
fn type_error_text_cuts_long_values() {
    let doc = parse_document(b"abcdefghijkl").unwrap().unwrap();
    let node = doc.child(0).unwrap();
    let message = type_error_message(&node, STR_TAG, "int");
    assert_eq!(
        message,
        b"line 1: cannot unmarshal !!str `abcdefg...` into int"
    );
}

// ----- Node API ------------------------------------------------------------------

#[test]
fn node_api_mirrors_yaml_node() {
    let root = parse(b"a: &x [1, '2']\nb: *x\n<<: {}\n").unwrap().unwrap();
    assert_eq!(root.kind(), Kind::Mapping);
    assert_eq!(root.document().kind(), Kind::Document);
    let pairs: Vec<(Node, Node)> = root.pairs().collect();
    assert_eq!(pairs.len(), 3);
    let (seq, alias) = (&pairs[0].1, &pairs[1].1);
    assert_eq!(
        (seq.anchor(), seq.style(), seq.len()),
        ("x", Style::FLOW, 2)
    );
    assert_eq!(seq.child(0).unwrap().short_tag(), INT_TAG);
    assert_eq!(seq.child(1).unwrap().short_tag(), STR_TAG);
    assert!(seq.child(1).unwrap().style().contains(Style::SINGLE_QUOTED));
    assert_eq!(
        (alias.kind(), alias.value(), alias.tag()),
        (Kind::Alias, "x", "")
    );
    assert!(alias.alias().unwrap().same_node(seq));
    assert_eq!(alias.short_tag(), SEQ_TAG);
    assert_eq!((alias.line(), alias.column()), (2, 4));
    assert_eq!(pairs[2].0.tag(), MERGE_TAG);
    assert!(is_merge_key(&pairs[2].0));
}

#[test]
fn empty_streams_have_no_node() {
    assert!(parse(b"").unwrap().is_none());
    assert!(parse(b"# nothing\n").unwrap().is_none());
    let null = parse(b"---\n").unwrap().unwrap();
    assert!(null.is_null());
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A fixed xorshift sequence of YAML-ish bytes: every input must come back
    // as a tree or an error, whatever it is.
    let alphabet = b"ab:- \n\t[]{},&*!|>'\"#%@`?~\\\r\x00\x80\xc3\xef\xbb\xbf0123.";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3_000 {
        let len = (next() % 60) as usize;
        let input: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let _ = parse(&input);
        let _ = decode_config(&input);
        let mut nest = Nest::default();
        let _ = unmarshal(&input, &mut nest);
    }
}
