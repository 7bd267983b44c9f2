//! Rendering one host, in process, from inventory to canonical JSON bytes:
//!
//! - node1 of the example inventory (an etcd member with a templated unit,
//!   two templated or inline files and two CA certificates), for review;
//! - a host of the generated load-test inventory (five templated units, ten
//!   files, the enrollment script), with a fresh token, as `serve` answers
//!   `GET /ignition/{host}`.
//!
//! `cargo bench --bench render`

use std::hint::black_box;
use std::path::Path;

use coregen::pki::mint_token;
use coregen::project::{MissingCa, Project};
use coregen::render::Renderer;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../examples/support/bench_inventory.rs"]
mod bench_inventory;

fn render_one_host(c: &mut Criterion) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let project = Project::load(repo, repo.join("tests/fixtures/pki")).expect("example loads");
    let cas = project
        .ca_certs(MissingCa::Refuse, &mut |_| {})
        .expect("fixture CAs");
    let host = project.inventory.host("node1").expect("node1");
    let spec = project.inventory.cluster.spec;

    let mut renderer = Renderer::new(&project.inventory, &project.templates, &cas, spec);
    c.bench_function("render node1 to bytes", |b| {
        b.iter(|| {
            let config = renderer.render(black_box(host), None).expect("renders");
            black_box(config.to_bytes(true))
        })
    });

    c.bench_function("load the example inventory", |b| {
        b.iter(|| Project::load(black_box(repo), repo.join("tests/fixtures/pki")).expect("loads"))
    });
}

fn render_generated_host(c: &mut Criterion) {
    let work = tempfile::tempdir().expect("a scratch folder");
    let root = work.path().join("cluster");
    bench_inventory::generate(100, &root);
    let project = Project::load(&root, root.join("pki")).expect("generated inventory loads");
    let cas = project
        .ca_certs(MissingCa::Create, &mut |_| {})
        .expect("CAs are created");
    let host = project.inventory.host("host00042").expect("host00042");
    let spec = project.inventory.cluster.spec;

    let mut renderer = Renderer::new(&project.inventory, &project.templates, &cas, spec);
    c.bench_function("render a generated host with a token", |b| {
        b.iter(|| {
            let token = mint_token("host00042", 3600, 0).expect("random source");
            let config = renderer
                .render(black_box(host), Some(&token.text))
                .expect("renders");
            black_box(config.to_bytes(false))
        })
    });
}

criterion_group!(benches, render_one_host, render_generated_host);
criterion_main!(benches);
