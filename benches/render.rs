//! Rendering one host, in process: node1 of the example inventory (an etcd
//! member with a templated unit, two templated or inline files and two CA
//! certificates), from inventory to canonical JSON bytes.
//!
//! `cargo bench --bench render`

use std::hint::black_box;
use std::path::Path;

use coregen::project::{MissingCa, Project};
use coregen::render::Renderer;
use criterion::{Criterion, criterion_group, criterion_main};

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

criterion_group!(benches, render_one_host);
criterion_main!(benches);
