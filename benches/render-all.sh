#!/usr/bin/env bash
# Times `coregen render --all` on generated inventories of 1,000 and 10,000
# hosts (three groups, five templated units and ten files per host), in a
# release build: wall time and peak memory (max RSS) of each of five runs,
# each into a fresh output folder, with a `sync` between runs so that one
# run's writeback does not land on the next.
#
#   bash benches/render-all.sh [HOSTS...]      (default: 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin coregen --example gen-inventory
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in "${@:-1000 10000}"; do
  for hosts in $n; do
    target/release/examples/gen-inventory "$hosts" "$work/inv$hosts"
    target/release/coregen -C "$work/inv$hosts" ca init >/dev/null
    # Let the generator's writes reach the disk first: on a small VM,
    # pending writeback slows every later file creation.
    sync
    echo "== $hosts hosts: render --all (in memory: validate)"
    /usr/bin/time -f "validate   %e s  %M KB max RSS" \
      target/release/coregen -C "$work/inv$hosts" validate >/dev/null
    for run in 1 2 3 4 5; do
      /usr/bin/time -f "render $run   %e s  %M KB max RSS" \
        target/release/coregen -C "$work/inv$hosts" render --all --out "$work/out$hosts-$run" >/dev/null
      sync
    done
  done
done
