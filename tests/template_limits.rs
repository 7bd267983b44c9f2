//! Templates that would recurse without end, or nest deeper than the stack
//! allows, are refused by the real `coregen` binary with an error naming
//! the template's file and line (exit 1), where they used to overflow the
//! stack and abort the process (exit 134, no file named).

mod common;

// The generator and runner of examples/template-fuzz.rs, for a short run.
#[allow(dead_code)]
#[path = "../examples/template-fuzz.rs"]
mod template_fuzz;

use std::path::Path;
use std::process::Output;

use common::{coregen, edit_file, example_project, run_ok, write_file};

/// What the example's zincati-updates.toml.hbs overrides the built-in with,
/// followed by `tail` from line 3.
fn zincati(tail: &str) -> String {
    format!("# Zincati for {{{{host.name}}}}\n[updates]\n{tail}")
}

/// Runs `coregen` with `args` in `dir`, and checks that it failed as an
/// error does (exit 1, no signal, one line on stderr) with each of
/// `expected` in the message.
fn assert_refused(dir: &Path, args: &[&str], expected: &[&str]) {
    let out: Output = coregen(dir).args(args).output().expect("coregen starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "coregen {args:?} ended with {} (134 is an abort), stderr:\n{stderr}",
        out.status
    );
    for part in expected {
        assert!(stderr.contains(part), "expected {part:?} in:\n{stderr}");
    }
    assert_eq!(stderr.lines().count(), 1, "one line per error:\n{stderr}");
}

/// Both commands that load the templates refuse the project, and `render`
/// writes nothing.
fn assert_validate_and_render_refuse(dir: &Path, expected: &[&str]) {
    assert_refused(dir, &["validate"], expected);
    assert_refused(dir, &["render", "--all"], expected);
    assert!(!dir.join("out").exists(), "render wrote out/");
}

#[test]
fn a_built_in_overridden_to_include_itself_through_a_block() {
    let project = example_project();
    let dir = project.path();
    let tail = "strategy = \"immediate\"\n{{#if true}}{{> zincati-updates.toml}}{{/if}}\n";
    write_file(dir, "templates/zincati-updates.toml.hbs", &zincati(tail));
    assert_validate_and_render_refuse(
        dir,
        &[
            "templates/zincati-updates.toml.hbs:4:13: template `zincati-updates.toml` includes itself",
        ],
    );
}

#[test]
fn an_inline_partial_that_includes_itself() {
    let project = example_project();
    let dir = project.path();
    let tail = "{{#*inline \"x\"}}\n  {{> x}}\n{{/inline}}\n{{> x}}\n";
    write_file(dir, "templates/zincati-updates.toml.hbs", &zincati(tail));
    assert_validate_and_render_refuse(
        dir,
        &[
            "templates/zincati-updates.toml.hbs:4:3: inline partial `x` of template \
             `zincati-updates.toml` includes itself",
        ],
    );
    // In a new template that no host uses, too: every template loads.
    let project = example_project();
    let dir = project.path();
    write_file(
        dir,
        "templates/unused.hbs",
        "{{#*inline \"x\"}}{{> x}}{{/inline}}{{> x}}",
    );
    assert_validate_and_render_refuse(
        dir,
        &["templates/unused.hbs:1:17: inline partial `x` of template `unused` includes itself"],
    );
}

#[test]
fn templates_that_include_each_other() {
    let project = example_project();
    let dir = project.path();
    write_file(
        dir,
        "templates/a.hbs",
        "a\n{{#each vars.update_days}}{{> b}}{{/each}}\n",
    );
    write_file(dir, "templates/b.hbs", "b\n\n  {{> a}}\n");
    assert_validate_and_render_refuse(
        dir,
        &["templates/a.hbs:2:27: template `a` includes itself through `b` -> `a`"],
    );

    // A longer cycle through the built-in a host uses, overridden.
    let project = example_project();
    let dir = project.path();
    write_file(
        dir,
        "templates/zincati-updates.toml.hbs",
        &zincati("{{> a}}\n"),
    );
    write_file(dir, "templates/a.hbs", "{{#with host}}{{> b}}{{/with}}");
    write_file(dir, "templates/b.hbs", "{{> zincati-updates.toml}}");
    assert_validate_and_render_refuse(
        dir,
        &[
            "templates/a.hbs:1:15: template `a` includes itself through `b` -> \
           `zincati-updates.toml` -> `a`",
        ],
    );
}

#[test]
fn two_thousand_nested_blocks() {
    let project = example_project();
    let dir = project.path();
    let nested = format!(
        "{}x{}",
        "{{#if true}}\n".repeat(2000),
        "{{/if}}".repeat(2000)
    );
    write_file(dir, "templates/zincati-updates.toml.hbs", &zincati(&nested));
    assert_validate_and_render_refuse(
        dir,
        &[
            "templates/zincati-updates.toml.hbs:67:1: template `zincati-updates.toml` nests \
           blocks, partials and subexpressions more than 64 deep",
        ],
    );
    // Far more is refused by its size before the parser sees it; still an
    // error, not an abort (`validate` only from here: compiling thousands
    // of blocks is slow in a debug build).
    let nested = format!(
        "{}x{}",
        "{{#if true}}".repeat(100_000),
        "{{/if}}".repeat(100_000)
    );
    write_file(dir, "templates/zincati-updates.toml.hbs", &zincati(&nested));
    assert_refused(
        dir,
        &["validate"],
        &[
            "templates/zincati-updates.toml.hbs: template `zincati-updates.toml` is 1900039 \
             bytes, more than the 262144 a template may have",
        ],
    );
    // So do nested subexpressions, which the compiler recursed on.
    let sub = format!("{}x{}", "(lookup ".repeat(5000), " 0)".repeat(5000));
    write_file(
        dir,
        "templates/zincati-updates.toml.hbs",
        &zincati(&format!("{{{{lookup {sub} 0}}}}")),
    );
    assert_refused(
        dir,
        &["validate"],
        &[
            "templates/zincati-updates.toml.hbs:3:",
            "subexpressions nest more than 128 deep",
        ],
    );
}

#[test]
fn the_depth_adds_up_across_partials() {
    let project = example_project();
    let dir = project.path();
    let level = |next: &str| {
        format!(
            "{}{{{{> {next}}}}}{}",
            "{{#with this}}".repeat(29),
            "{{/with}}".repeat(29)
        )
    };
    write_file(
        dir,
        "templates/zincati-updates.toml.hbs",
        &zincati(&level("a")),
    );
    write_file(dir, "templates/a.hbs", &level("b"));
    write_file(dir, "templates/b.hbs", "{{host.name}}");
    run_ok(coregen(dir).arg("validate"));
    write_file(dir, "templates/b.hbs", &level("c"));
    write_file(dir, "templates/c.hbs", "{{host.name}}");
    assert_validate_and_render_refuse(
        dir,
        &[
            "templates/b.hbs:1:57: template `b` nests blocks, partials and subexpressions more \
           than 64 deep when included from template `zincati-updates.toml` through `a` -> `b`",
        ],
    );
}

#[test]
fn a_butane_snippet_template_includes_partials_but_not_itself() {
    let project = example_project();
    let dir = project.path();
    // A shared partial in a snippet renders.
    edit_file(
        dir,
        "templates/lb.bu.hbs",
        "            server {{name}} {{ip}}:6443 check\n",
        "            {{> backend}}\n",
    );
    write_file(
        dir,
        "templates/backend.hbs",
        "server {{name}} {{ip}}:6443 check\n",
    );
    run_ok(coregen(dir).args(["render", "--all"]));
    let shown = run_ok(coregen(dir).arg("show").arg(dir.join("out/node4.ign")));
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("server node1 10.0.0.11:6443 check"),
        "{shown}"
    );

    // Including itself, it is refused like any template.
    std::fs::remove_dir_all(dir.join("out")).unwrap();
    edit_file(dir, "templates/lb.bu.hbs", "{{> backend}}", "{{> lb.bu}}");
    assert_validate_and_render_refuse(
        dir,
        &["templates/lb.bu.hbs:25:13: template `lb.bu` includes itself"],
    );
}

#[test]
fn a_partial_named_at_render_time() {
    let project = example_project();
    let dir = project.path();
    write_file(
        dir,
        "templates/zincati-updates.toml.hbs",
        &zincati("{{> (lookup vars \"p\")}}"),
    );
    assert_validate_and_render_refuse(
        dir,
        &[
            "templates/zincati-updates.toml.hbs:3:1: template `zincati-updates.toml` includes a \
           partial whose name is computed at render time",
        ],
    );
}

#[test]
fn a_certificate_name_template_is_checked_when_the_project_loads() {
    // Profile name templates are rendered from text, apart from the loaded
    // templates, by `coregen certs`, `sign` and the server's enrollment;
    // they are checked with the templates when the project loads.
    let project = example_project();
    let dir = project.path();
    edit_file(
        dir,
        "hosts/cluster.toml",
        "common_name = \"{{host.name}}\"",
        "common_name = '{{#*inline \"x\"}}{{> x}}{{/inline}}{{> x}}'",
    );
    for args in [&["validate"][..], &["certs", "--host", "node1"]] {
        assert_refused(
            dir,
            args,
            &[
                "inline partial `x` of template \"{{#*inline \\\"x\\\"}}{{> x}}{{/inline}}{{> x}}\" \
                 includes itself",
                "(a name of [profiles.etcd-peer] in hosts/cluster.toml)",
            ],
        );
    }

    // A loaded template that is fine alone, but one block too deep where
    // the profile includes it.
    let project = example_project();
    let dir = project.path();
    let deep = format!(
        "{}{{{{host.name}}}}{}",
        "{{#with this}}".repeat(63),
        "{{/with}}".repeat(63)
    );
    write_file(dir, "templates/deep.hbs", &deep);
    edit_file(
        dir,
        "hosts/cluster.toml",
        "common_name = \"{{host.name}}\"",
        "common_name = '{{#if true}}{{> deep}}{{/if}}'",
    );
    assert_refused(
        dir,
        &["validate"],
        &[
            "templates/deep.hbs:1:869: template `deep` nests blocks, partials and subexpressions \
           more than 64 deep when included from template \"{{#if true}}{{> deep}}{{/if}}\"",
        ],
    );
}

/// `serve` loads the templates once, at start: a template that includes
/// itself stops it there with the template's file and line, where a single
/// `GET /ignition/<host>` used to abort the running server.
#[test]
fn serve_refuses_to_start_with_a_template_that_includes_itself() {
    let project = example_project();
    let dir = project.path();
    let tail = "strategy = \"immediate\"\n{{#if true}}{{> zincati-updates.toml}}{{/if}}\n";
    write_file(dir, "templates/zincati-updates.toml.hbs", &zincati(tail));
    assert_refused(
        dir,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--url",
            "https://127.0.0.1:0",
        ],
        &[
            "templates/zincati-updates.toml.hbs:4:13: template `zincati-updates.toml` includes itself",
        ],
    );
}

/// A short run of `examples/template-fuzz.rs`: random template sets load
/// or are refused, and those that load render, without a panic, on the
/// 2 MiB of stack that coregen renders with.
#[test]
fn random_template_sets_never_panic_or_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("case");
    let counts = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut random = template_fuzz::Cases::new(7);
            let mut counts = template_fuzz::Counts::default();
            while counts.cases < 60 {
                let case = random.next_case();
                template_fuzz::run(&case, &cases, &mut counts);
            }
            counts
        })
        .unwrap()
        .join()
        .expect("no case panics");
    assert!(
        counts.loaded > 0 && counts.cycles > 0 && counts.rendered > 0,
        "{counts:?}"
    );
}

/// A few hundred bytes of partials that include each other ten times
/// over, six deep, would render a million copies: no recursion, yet it
/// would hang `validate` and stall `serve`. Refused when it loads.
#[test]
fn partials_that_fan_out_without_end_are_refused() {
    let project = example_project();
    let dir = project.path();
    let mut fan = String::from("{{#*inline \"l0\"}}0123456789{{/inline}}");
    for level in 1..=6 {
        fan.push_str(&format!(
            "{{{{#*inline \"l{level}\"}}}}{}{{{{/inline}}}}",
            format!("{{{{> l{}}}}}", level - 1).repeat(10)
        ));
    }
    fan.push_str("{{> l6}}\n");
    write_file(dir, "templates/fan.hbs", &fan);
    edit_file(
        dir,
        "hosts/groups/all.toml",
        "[[files]]",
        "[[files]]\npath = \"/etc/fan\"\ntemplate = \"fan\"\n\n[[files]]",
    );
    let started = std::time::Instant::now();
    assert_validate_and_render_refuse(
        dir,
        &["templates/fan.hbs:1:", "expands into more than 16 MiB"],
    );
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}
