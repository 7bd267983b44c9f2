//! Fuzzes `coregen butane` in process: random mutations of the corpus
//! documents (tests/fixtures/butane-corpus), translated with the corpus's
//! files-dir, for a given time. Any panic, or a translation slower than a
//! second, is reported with the input written to target/butane-fuzz/.
//!
//! ```sh
//! cargo run --release --example butane-fuzz -- 300        # five minutes
//! cargo run --release --example butane-fuzz -- 300 42     # another seed
//! ```

#[path = "support/mutate.rs"]
mod mutate;

use std::path::Path;
use std::time::{Duration, Instant};

use coregen::butane::{Options, translate_document};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/butane-corpus");
    let mut docs: Vec<Vec<u8>> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "bu").then(|| std::fs::read(path).unwrap())
        })
        .collect();
    docs.sort();
    let opts = Options {
        files_dir: Some(corpus.join("files")),
    };
    let crashes = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/butane-fuzz");
    // Panics are counted and kept, not printed one by one.
    std::panic::set_hook(Box::new(|_| {}));

    let mut rng = mutate::Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut ok, mut failed, mut panics, mut slow) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut slowest = Duration::ZERO;
    while Instant::now() < deadline {
        let input = mutate::mutate(&docs[rng.below(docs.len())], &mut rng);
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| translate_document(&input, &opts));
        let took = started.elapsed();
        slowest = slowest.max(took);
        runs += 1;
        let keep = |kind: &str| {
            std::fs::create_dir_all(&crashes).unwrap();
            let file = crashes.join(format!("{kind}-{runs}.bu"));
            std::fs::write(&file, &input).unwrap();
            eprintln!("{kind}: {}", file.display());
        };
        match result {
            Ok(outcome) if outcome.result.is_ok() => ok += 1,
            Ok(_) => failed += 1,
            Err(_) => {
                panics += 1;
                keep("panic");
            }
        }
        if took > Duration::from_secs(1) {
            slow += 1;
            keep("slow");
        }
    }
    println!(
        "{runs} inputs in {seconds} s (seed {seed}): {ok} translated, {failed} refused, \
         {panics} panics, {slow} over 1 s; slowest {slowest:?}"
    );
    if panics > 0 || slow > 0 {
        std::process::exit(1);
    }
}
