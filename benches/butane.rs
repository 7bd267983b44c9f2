//! Butane translation in process, from document bytes to the JSON that
//! `coregen butane` writes, for the corpus documents that cost the most
//! and the least, and for every corpus document in a row:
//!
//! `cargo bench --bench butane`
//!
//! The per-process figure (start-up included) comes from
//! `examples/butane-wall.rs`.

use std::hint::black_box;
use std::path::Path;

use coregen::butane::{Options, translate_document};
use criterion::{Criterion, criterion_group, criterion_main};

fn translate(c: &mut Criterion) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/butane-corpus");
    let opts = Options {
        files_dir: Some(corpus.join("files")),
    };
    let read = |name: &str| std::fs::read(corpus.join(name)).expect("corpus document");
    let run = |doc: &[u8]| {
        let outcome = translate_document(black_box(doc), &opts);
        black_box(outcome.result.map(|t| t.to_json(false)).ok())
    };

    for name in [
        "01-hostname-motd.bu",
        "29-boot-mirror-x86.bu",
        "41-ignition-tls-ca.bu",
        "45-kitchen-sink-1-6.bu",
        "51-encoding-choice.bu",
    ] {
        let doc = read(name);
        c.bench_function(&format!("butane {name}"), |b| b.iter(|| run(&doc)));
    }

    let mut all: Vec<Vec<u8>> = std::fs::read_dir(&corpus)
        .expect("the corpus is there")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "bu").then(|| std::fs::read(path).expect("readable"))
        })
        .collect();
    all.sort();
    c.bench_function("butane: all 45 corpus documents", |b| {
        b.iter(|| {
            for doc in &all {
                run(doc);
            }
        })
    });
}

criterion_group!(benches, translate);
criterion_main!(benches);
