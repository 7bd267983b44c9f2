//! Wall time of `coregen butane` per process, as a user sees it: for each
//! document of the Butane corpus (tests/fixtures/butane-corpus), the
//! binary is started, translates the document with the corpus's files-dir
//! and exits, RUNS times after a few warm-up runs; each run is timed from
//! spawn to exit, output read. Prints each document's median and 90th
//! percentile, then the slowest median, and, for comparison, the same for
//! `coregen --version` (the binary's start-up alone) and `/bin/true`
//! (starting any process here).
//!
//! ```sh
//! cargo build --release --bin coregen --example butane-wall
//! target/release/examples/butane-wall [RUNS] [BINARY]   # default 200, target/release/coregen
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binary = args
        .get(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("target/release/coregen"));
    let corpus = repo.join("tests/fixtures/butane-corpus");
    let mut docs: Vec<String> = std::fs::read_dir(&corpus)
        .expect("the corpus is there")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.ends_with(".bu").then_some(name)
        })
        .collect();
    docs.sort();

    println!("{:<48} {:>9} {:>9}", "document", "median", "p90");
    let mut worst = (Duration::ZERO, String::new());
    let mut medians = Vec::new();
    for doc in &docs {
        let (median, p90) = time(runs, || {
            let mut cmd = Command::new(&binary);
            cmd.current_dir(&corpus)
                .args(["butane", "--strict", "--files-dir", "files", doc]);
            cmd
        });
        println!("{doc:<48} {:>9} {:>9}", ms(median), ms(p90));
        medians.push(median);
        if median > worst.0 {
            worst = (median, doc.clone());
        }
    }
    medians.sort();
    let (version, _) = time(runs, || {
        let mut cmd = Command::new(&binary);
        cmd.arg("--version");
        cmd
    });
    let (true_, _) = time(runs, || Command::new("/bin/true"));
    println!();
    println!(
        "slowest median: {} ({}); median of medians {}",
        ms(worst.0),
        worst.1,
        ms(medians[medians.len() / 2])
    );
    println!(
        "floor: `coregen --version` {}, /bin/true {}",
        ms(version),
        ms(true_)
    );
}

/// The median and 90th percentile of `runs` timed runs of the command that
/// `make` builds, after five untimed ones.
fn time(runs: usize, make: impl Fn() -> Command) -> (Duration, Duration) {
    let run = || {
        let started = Instant::now();
        let out = make()
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("the command starts");
        let took = started.elapsed();
        std::hint::black_box(out);
        took
    };
    for _ in 0..5 {
        run();
    }
    let mut times: Vec<Duration> = (0..runs.max(1)).map(|_| run()).collect();
    times.sort();
    (times[times.len() / 2], times[times.len() * 9 / 10])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
