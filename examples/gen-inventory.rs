//! Writes a synthetic inventory for load tests and benchmarks:
//! `cargo run --release --example gen-inventory -- HOSTS DIR [--snippets]`
//! (`--snippets`: two templated Butane snippets per host).
//!
//! DIR must not exist yet. The inventory's shape is described in
//! `support/bench_inventory.rs`.

#[path = "support/bench_inventory.rs"]
mod bench_inventory;

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(count), Some(dir)) = (
        args.first().and_then(|n| n.parse::<u32>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: gen-inventory HOSTS DIR [--snippets]");
        std::process::exit(2);
    };
    let dir = Path::new(dir);
    if dir.exists() {
        eprintln!("gen-inventory: {} exists already", dir.display());
        std::process::exit(1);
    }
    let snippets = args.get(2).is_some_and(|a| a == "--snippets");
    bench_inventory::generate_with(count, dir, snippets);
    eprintln!("gen-inventory: {count} hosts in {}", dir.display());
}
