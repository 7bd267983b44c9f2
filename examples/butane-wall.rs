//! Wall time of `coregen butane` per process, as a user sees it: for each
//! document of the Butane corpus (tests/fixtures/butane-corpus), the
//! binary is started, translates the document with the corpus's files-dir
//! and exits; each run is timed from spawn to exit, output read. RUNS
//! rounds (after five to warm up) each run every document once, and, for
//! comparison, `coregen --version` (the binary's start-up alone) and
//! `/bin/true` (starting any process here). Prints each one's median and
//! 90th percentile, then the slowest median.
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

    // Rounds: each runs every document once, then the two floors, so
    // that this VM's drift over minutes falls on all of them alike.
    let mut commands: Vec<(String, Command)> = docs
        .iter()
        .map(|doc| {
            let mut cmd = Command::new(&binary);
            cmd.current_dir(&corpus)
                .args(["butane", "--strict", "--files-dir", "files", doc]);
            (doc.clone(), cmd)
        })
        .collect();
    let mut version = Command::new(&binary);
    version.arg("--version");
    commands.push(("coregen --version".into(), version));
    commands.push(("/bin/true".into(), Command::new("/bin/true")));
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); commands.len()];
    for round in 0..runs + 5 {
        for (i, (_, cmd)) in commands.iter_mut().enumerate() {
            let took = time(cmd);
            // The first five rounds warm the page cache and are not kept.
            if round >= 5 {
                times[i].push(took);
            }
        }
    }

    println!("{:<48} {:>9} {:>9}", "document", "median", "p90");
    let mut medians = Vec::new();
    for ((name, _), times) in commands.iter().zip(&mut times) {
        times.sort();
        let (median, p90) = (times[times.len() / 2], times[times.len() * 9 / 10]);
        println!("{name:<48} {:>9} {:>9}", ms(median), ms(p90));
        if name.ends_with(".bu") {
            medians.push((median, name.clone()));
        }
    }
    medians.sort();
    let (worst, worst_doc) = medians.last().expect("documents").clone();
    println!();
    println!(
        "slowest median: {} ({worst_doc}); median of medians {}",
        ms(worst),
        ms(medians[medians.len() / 2].0)
    );
}

/// One run of `cmd`, from spawn to exit, its output read.
fn time(cmd: &mut Command) -> Duration {
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("the command starts");
    let took = started.elapsed();
    std::hint::black_box(out);
    took
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
