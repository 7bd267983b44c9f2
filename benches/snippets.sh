#!/usr/bin/env bash
# What Butane snippets cost `render --all`: the generated 1,000-host
# inventory (see examples/support/bench_inventory.rs) without snippets and
# with two templated snippets per host (one of its group `storage`, 40
# distinct texts; one of its own, distinct for every host), in a release
# build. Runs alternate between the two inventories so that this VM's
# drift hits both alike; each render goes to a fresh output folder, with a
# `sync` between runs. The output folders are in /dev/shm when there is
# one: on this VM the disk's write speed varies tenfold from minute to
# minute, which would drown what snippets cost. Prints each run, then the
# medians and their ratio.
#
#   bash benches/snippets.sh [HOSTS] [RUNS]      (default: 1000 7)
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-1000}
runs=${2:-7}
cargo build --release --quiet --bin coregen --example gen-inventory
work=$(mktemp -d)
out=$work
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  out=$(mktemp -d -p /dev/shm)
fi
trap 'rm -rf "$work" "$out"' EXIT
target/release/examples/gen-inventory "$hosts" "$work/plain" 2>/dev/null
target/release/examples/gen-inventory "$hosts" "$work/snippets" --snippets 2>/dev/null
for inv in plain snippets; do
  target/release/coregen -C "$work/$inv" ca init >/dev/null
done
sync

# Wall seconds of one command, its output thrown away.
wall() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN {printf "%.3f\n", ns / 1e9}'
}

median() {
  sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

declare -A render validate
for run in $(seq "$runs"); do
  for inv in plain snippets; do
    v=$(wall target/release/coregen -C "$work/$inv" validate)
    r=$(wall target/release/coregen -C "$work/$inv" render --all --out "$out/out-$inv-$run")
    sync
    validate[$inv]+="$v "
    render[$inv]+="$r "
    echo "run $run  $inv: render --all ${r} s, validate ${v} s"
  done
done

echo
for what in render validate; do
  declare -n times=$what
  p=$(echo "${times[plain]}" | tr ' ' '\n' | grep . | median)
  s=$(echo "${times[snippets]}" | tr ' ' '\n' | grep . | median)
  ratio=$(awk -v s="$s" -v p="$p" 'BEGIN {printf "%.2f", s / p}')
  echo "$what, median of $runs: without snippets ${p} s, with ${s} s: ${ratio}x"
done
/usr/bin/time -f "max RSS with snippets: %M KB" \
  target/release/coregen -C "$work/snippets" validate >/dev/null
/usr/bin/time -f "max RSS without: %M KB" \
  target/release/coregen -C "$work/plain" validate >/dev/null
