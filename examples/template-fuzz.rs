//! Fuzzes coregen's templates in process: random sets of templates, made
//! of partials (to each other, to themselves, to inline partials, by names
//! computed at render time), partial blocks, inline partials, blocks,
//! `{{else if}}` chains, subexpressions, deep nesting and stray text, some
//! cut or spliced, are loaded with `Templates::load` and every template
//! rendered with a host's context, as well as random texts with
//! `render_str`. Each case runs on a thread with 2 MiB of stack, as coregen
//! renders; a set that loads must render without a panic, without the
//! recursion bound refusing it, and within a second.
//!
//! A panic or a case slower than a second is counted and its files kept in
//! target/template-fuzz/; a case still running after a minute stops the
//! run; an abort (a stack overflow) kills it, with the case left in
//! target/template-fuzz/current/.
//!
//! ```sh
//! cargo run --release --example template-fuzz -- 600        # ten minutes
//! cargo run --release --example template-fuzz -- 600 42     # another seed
//! ```

#[allow(dead_code)] // only its random numbers
#[path = "support/mutate.rs"]
mod mutate;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use coregen::template::Templates;
use handlebars::Context;
use serde_json::json;

use mutate::Rng;

/// Template names: new ones, and built-ins that a set may replace.
const NAMES: &[&str] = &["a", "b", "c", "d", "zincati-updates.toml", "coregen-enroll"];
/// Inline partial names; `a` shadows a template.
const INLINES: &[&str] = &["x", "y", "nav", "a"];
/// What partials include besides those: the block's content, and nothing.
const SPECIAL: &[&str] = &["@partial-block", "missing"];
const CONDITIONS: &[&str] = &[
    "true",
    "false",
    "host.name",
    "vars.list",
    "vars.missing",
    "(lookup vars \"k\")",
    "(eq vars.k \"v\")",
    "@root.vars.flag",
];
const TEXTS: &[&str] = &[
    "plain text ",
    "\n",
    "  ",
    "say \"hi\" ",
    "it's ",
    "$(cmd \"a\") ",
    "( ",
    ") ",
    "{ ",
    "} ",
    "[x] ",
    "\\{{escaped}} ",
    "a}}b ",
    "é ",
    "{{!-- (( \" {{> a}} --}}",
    "{{! it's }}",
];
const VALUES: &[&str] = &[
    "{{host.name}}",
    "{{vars.k}}",
    "{{this}}",
    "{{@root.host.name}}",
    "{{lookup vars \"k\"}}",
    "{{vars.missing}}",
    "{{@index}}",
    "{{{host.name}}}",
    "{{~host.name~}}",
    "{{len vars.list}}",
    "{{lookup vars \"}}(\"}}",
];
/// Spliced into texts to break them: tags cut in two, stray ends.
const SPLICES: &[&str] = &[
    "{{",
    "}}",
    "(",
    ")",
    "\"",
    "{{/if}}",
    "{{else}}",
    "{{#if a}}",
    "{{> ",
    "{{#*inline ",
    "]",
];

/// One set of templates, as files, and texts rendered with them.
#[derive(Clone, Debug)]
pub struct Case {
    pub files: Vec<(String, String)>,
    pub texts: Vec<String>,
}

/// Random cases, the same for the same seed.
pub struct Cases(Rng);

impl Cases {
    pub fn new(seed: u64) -> Cases {
        Cases(Rng::new(seed))
    }

    pub fn next_case(&mut self) -> Case {
        let mut g = Gen {
            rng: &mut self.0,
            budget: 0,
            after: None,
        };
        // Half the sets include only templates later in NAMES, so that
        // more of them load and render.
        let ordered = g.chance(50);
        let mut files: Vec<(String, String)> = Vec::new();
        for _ in 0..1 + g.rng.below(4) {
            let i = g.rng.below(NAMES.len());
            let name = NAMES[i];
            if files.iter().any(|(n, _)| n == name) {
                continue;
            }
            g.after = ordered.then_some(i);
            g.budget = 5 + g.rng.below(30);
            let mut text = g.text(0);
            if g.chance(15) {
                g.break_up(&mut text);
            }
            files.push((name.to_string(), text));
        }
        g.after = None;
        let texts = (0..g.rng.below(3))
            .map(|_| {
                g.budget = 1 + g.rng.below(6);
                g.text(0)
            })
            .collect();
        Case { files, texts }
    }
}

struct Gen<'r> {
    rng: &'r mut Rng,
    /// Pieces left to write in this text.
    budget: usize,
    /// Include only templates after this one in NAMES.
    after: Option<usize>,
}

impl Gen<'_> {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.rng.below(from.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.rng.below(100) < percent
    }

    /// Mostly small, now and then past every bound.
    fn count(&mut self) -> usize {
        match self.rng.below(20) {
            0 => 50 + self.rng.below(200),
            1 | 2 => 10 + self.rng.below(60),
            _ => 1 + self.rng.below(4),
        }
    }

    fn partial_name(&mut self) -> &'static str {
        if let Some(i) = self.after {
            let later = &NAMES[i + 1..];
            return match later.len() {
                0 => self.pick(SPECIAL),
                n => later[self.rng.below(n)],
            };
        }
        match self.rng.below(10) {
            0..=5 => self.pick(NAMES),
            6..=8 => self.pick(INLINES),
            _ => self.pick(SPECIAL),
        }
    }

    /// A template text, `depth` blocks deep.
    fn text(&mut self, depth: usize) -> String {
        let mut out = String::new();
        for _ in 0..1 + self.rng.below(4) {
            if self.budget == 0 {
                break;
            }
            self.budget -= 1;
            self.piece(depth, &mut out);
        }
        out
    }

    fn inner(&mut self, depth: usize) -> String {
        if depth < 6 {
            self.text(depth + 1)
        } else {
            self.pick(VALUES).to_string()
        }
    }

    fn piece(&mut self, depth: usize, out: &mut String) {
        match self.rng.below(18) {
            0 | 1 => out.push_str(self.pick(TEXTS)),
            2 | 3 => out.push_str(self.pick(VALUES)),
            4 | 5 => {
                let (helper, argument) = match self.rng.below(4) {
                    0 => ("if", self.pick(CONDITIONS)),
                    1 => ("unless", self.pick(CONDITIONS)),
                    2 => ("each", self.pick(&["vars.list", "@root.vars.list", "host"])),
                    _ => ("with", self.pick(&["host", "vars", "@root", "this"])),
                };
                let body = self.inner(depth);
                out.push_str(&format!("{{{{#{helper} {argument}}}}}{body}"));
                if self.chance(30) {
                    let other = self.inner(depth);
                    out.push_str(&format!("{{{{else}}}}{other}"));
                }
                out.push_str(&format!("{{{{/{helper}}}}}"));
            }
            6 | 7 => {
                let name = self.partial_name();
                let (before, after) = if self.chance(30) {
                    ("\n  ", "\n")
                } else {
                    ("", "")
                };
                let arguments = match self.rng.below(4) {
                    0 => " vars",
                    1 => " k=\"v\"",
                    2 => " host n=(lookup vars \"k\")",
                    _ => "",
                };
                out.push_str(&format!("{before}{{{{> {name}{arguments}}}}}{after}"));
            }
            8 => {
                let name = self.partial_name();
                let body = self.inner(depth);
                out.push_str(&format!("{{{{#> {name}}}}}{body}{{{{/{name}}}}}"));
            }
            9 | 10 => {
                let name = self.pick(INLINES);
                let body = self.inner(depth);
                out.push_str(&format!("{{{{#*inline \"{name}\"}}}}{body}{{{{/inline}}}}"));
            }
            11 => {
                let links = self.count();
                out.push_str("{{#if vars.missing}}a");
                for _ in 0..links {
                    let condition = self.pick(CONDITIONS);
                    out.push_str(&format!("{{{{else if {condition}}}}}b"));
                }
                let last = self.inner(depth);
                out.push_str(&format!("{{{{else}}}}{last}{{{{/if}}}}"));
            }
            12 => {
                let n = self.count();
                let sub = format!("{}vars{}", "(lookup ".repeat(n), " \"k\")".repeat(n));
                out.push_str(&format!("{{{{lookup {sub} \"k\"}}}}"));
            }
            13 => {
                let n = self.count();
                let body = self.inner(depth);
                out.push_str(&format!(
                    "{}{body}{}",
                    "{{#with this}}".repeat(n),
                    "{{/with}}".repeat(n)
                ));
            }
            14 if self.chance(25) => out.push_str(self.pick(&[
                "{{> (lookup vars \"p\")}}",
                "{{#*inline vars.p}}x{{/inline}}",
                "{{#*inline (lookup vars \"p\")}}{{> a}}{{/inline}}",
            ])),
            14 => out.push_str(self.pick(VALUES)),
            // Raw content is text: tags in it neither nest nor include.
            15 => out.push_str(self.pick(&[
                "{{{{raw}}}}{{> a}}{{#if true}}{{{{/raw}}}}",
                "{{{{raw}}}} (( \" {{{{/raw}}}}",
            ])),
            16 => {
                let name = self.partial_name();
                let body = self.inner(depth);
                out.push_str(&format!(
                    "{{{{#each vars.list as |item i|}}}}{{{{item}}}}{{{{> {name}}}}}{body}{{{{/each}}}}"
                ));
            }
            _ => {
                let name = self.pick(INLINES);
                let body = self.inner(depth);
                out.push_str(&format!(
                    "{{{{#*inline \"{name}\"}}}}{body}{{{{/inline}}}}{{{{> {name}}}}}"
                ));
            }
        }
    }

    /// Cuts, splices or drops part of `text`.
    fn break_up(&mut self, text: &mut String) {
        let mut at = self.rng.below(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        match self.rng.below(3) {
            0 => text.truncate(at),
            1 => text.insert_str(at, self.pick(SPLICES)),
            _ => {
                let mut end = (at + 1 + self.rng.below(20)).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(at..end, "");
            }
        }
    }
}

/// What the cases came to.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub cases: u64,
    pub loaded: u64,
    pub refused_at_load: u64,
    /// Why, by the message: a cycle, nesting past the bound, a partial
    /// named at render time, or anything else handlebars does not compile.
    pub cycles: u64,
    pub too_deep: u64,
    pub dynamic: u64,
    pub not_compiled: u64,
    pub renders: u64,
    pub rendered: u64,
    pub refused_at_render: u64,
    /// Of those, the texts that the recursion and depth bound refused.
    pub bound_at_render: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.cases += o.cases;
        self.loaded += o.loaded;
        self.refused_at_load += o.refused_at_load;
        self.cycles += o.cycles;
        self.too_deep += o.too_deep;
        self.dynamic += o.dynamic;
        self.not_compiled += o.not_compiled;
        self.renders += o.renders;
        self.rendered += o.rendered;
        self.refused_at_render += o.refused_at_render;
        self.bound_at_render += o.bound_at_render;
    }
}

/// Which refusal of the bound `message` is, if any.
fn bound(message: &str) -> Option<&'static str> {
    if message.contains("includes itself") {
        Some("cycle")
    } else if message.contains("deep") {
        Some("deep")
    } else if message.contains("computed at render time") || message.contains("by a value") {
        Some("dynamic")
    } else {
        None
    }
}

fn context() -> Context {
    Context::wraps(json!({
        "host": {"name": "node1", "fqdn": "node1.cluster.internal", "groups": ["etcd"]},
        "vars": {"k": "v", "p": "a", "list": [1, 2], "flag": true},
        "cluster": {"name": "c", "spec": "3.4.0"},
    }))
    .expect("an object is a context")
}

/// Writes `case` to `dir` (as `templates/` holds templates), loads it, and
/// renders every template and text. Panics if a set that loaded is refused
/// by the bound when it renders: the check at load must cover rendering.
pub fn run(case: &Case, dir: &Path, counts: &mut Counts) {
    std::fs::create_dir_all(dir).expect("the case folder is writable");
    for entry in std::fs::read_dir(dir).expect("the case folder reads") {
        let path = entry.expect("the case folder reads").path();
        std::fs::remove_file(&path).expect("old case files go");
    }
    for (name, text) in &case.files {
        std::fs::write(dir.join(format!("{name}.hbs")), text).expect("case files write");
    }
    for (i, text) in case.texts.iter().enumerate() {
        std::fs::write(dir.join(format!("text{i}.txt")), text).expect("case files write");
    }
    counts.cases += 1;
    let templates = match Templates::load(dir) {
        Ok(templates) => templates,
        Err(e) => {
            counts.refused_at_load += 1;
            match bound(&e.to_string()) {
                Some("cycle") => counts.cycles += 1,
                Some("deep") => counts.too_deep += 1,
                Some(_) => counts.dynamic += 1,
                None => counts.not_compiled += 1,
            }
            return;
        }
    };
    counts.loaded += 1;
    let context = context();
    let names: Vec<String> = templates.names().map(str::to_string).collect();
    for name in &names {
        counts.renders += 1;
        match templates.render(name, &context) {
            Ok(_) => counts.rendered += 1,
            Err(e) => {
                let message = e.to_string();
                assert!(
                    bound(&message).is_none(),
                    "a loaded template is refused by the bound: {message}"
                );
                counts.refused_at_render += 1;
            }
        }
    }
    for text in &case.texts {
        counts.renders += 1;
        match templates.render_str(text, &context) {
            Ok(_) => counts.rendered += 1,
            Err(e) => {
                counts.refused_at_render += 1;
                if bound(&e.to_string()).is_some() {
                    counts.bound_at_render += 1;
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/template-fuzz");
    let current = kept.join("current");
    // Panics are counted and kept, not printed one by one.
    std::panic::set_hook(Box::new(|_| {}));

    // The cases run on one thread with the 2 MiB of stack that coregen's
    // render workers and server threads have; this one watches the clock.
    let (to_worker, cases) = mpsc::channel::<Case>();
    let (to_main, results) = mpsc::channel::<(Counts, bool, Duration)>();
    let dir = current.clone();
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for case in cases {
                let started = Instant::now();
                let mut counts = Counts::default();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(&case, &dir, &mut counts)
                }));
                if to_main
                    .send((counts, outcome.is_err(), started.elapsed()))
                    .is_err()
                {
                    break;
                }
            }
        })
        .expect("the worker starts");

    let mut random = Cases::new(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut total = Counts::default();
    let (mut panics, mut slow, mut hung) = (0u64, 0u64, false);
    let mut slowest = Duration::ZERO;
    while Instant::now() < deadline {
        let case = random.next_case();
        to_worker.send(case.clone()).expect("the worker runs");
        let keep = |kind: &str, n: u64| {
            let to = kept.join(format!("{kind}-{n}"));
            std::fs::create_dir_all(&to).expect("target/ is writable");
            for (name, text) in &case.files {
                std::fs::write(to.join(format!("{name}.hbs")), text).expect("target/ is writable");
            }
            for (i, text) in case.texts.iter().enumerate() {
                std::fs::write(to.join(format!("text{i}.txt")), text).expect("target/ is writable");
            }
            eprintln!("{kind}: {}", to.display());
        };
        match results.recv_timeout(Duration::from_secs(60)) {
            Ok((counts, panicked, took)) => {
                total.add(&counts);
                slowest = slowest.max(took);
                if panicked {
                    panics += 1;
                    keep("panic", total.cases);
                }
                if took > Duration::from_secs(1) {
                    slow += 1;
                    keep("slow", total.cases);
                }
            }
            Err(_) => {
                hung = true;
                keep("hang", total.cases + 1);
                break;
            }
        }
    }
    let c = &total;
    println!(
        "{} cases in {seconds} s (seed {seed}): {} loaded, {} refused at load ({} cycles, {} too \
         deep, {} partials named at render time, {} other compile errors); {} renders: {} ok, {} \
         refused at render ({} by the recursion and depth bound, all texts); {panics} panics, \
         {slow} over 1 s{}; slowest {slowest:?}",
        c.cases,
        c.loaded,
        c.refused_at_load,
        c.cycles,
        c.too_deep,
        c.dynamic,
        c.not_compiled,
        c.renders,
        c.rendered,
        c.refused_at_render,
        c.bound_at_render,
        if hung {
            ", one still running after 60 s"
        } else {
            ""
        },
    );
    if panics > 0 || slow > 0 || hung {
        std::process::exit(1);
    }
}
