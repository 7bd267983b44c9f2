#!/usr/bin/env bash
# A real machine boots from coregen: a QEMU VM (software emulation) gets
# DHCP, runs coregen's /boot.ipxe and its /ipxe?mac= script, loads a
# Debian kernel and a dracut initramfs carrying Debian's Ignition, whose
# Ignition follows the secret-free pointer, fetches the host's config from
# `coregen serve` over HTTPS trusting only the CA the pointer carries, and
# writes it to the root disk; systemd's first boot of that root runs
# coregen-enroll.service. Then the negative boots: a pointer carrying
# another CA, a second machine with the enrolled host's MAC, an unknown
# MAC. See README.md, "Booting a real VM".
#
# Run by .ci/run after `cargo test`; alone: `bash tests/boot-vm.sh` as root
# (debootstrap and chroot build the VM's root; the result is cached under
# target/boot-vm-cache, keyed by the Debian package versions). It uses the
# debug coregen of CARGO_TARGET_DIR (building it if missing), or
# COREGEN_BIN. The tools come from .ci/packages; without them it says what
# is missing and skips, or fails under COREGEN_REQUIRE_TOOLS=1.
#
# Isolation: the VM has user-mode networking with restrict=on, so it
# reaches nothing but the guestfwd rules, which all lead to 127.0.0.1.
# Each VM run is bounded (COREGEN_VM_TIMEOUT, 120 s), and everything the
# test starts is stopped on exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
vm_timeout=${COREGEN_VM_TIMEOUT:-120}
cache=${COREGEN_VM_CACHE:-$repo/target/boot-vm-cache}
coregen=${COREGEN_BIN:-${CARGO_TARGET_DIR:-$repo/target}/debug/coregen}
mac=52:54:00:c0:4e:51     # vm1's, in tests/vm/hosts/vm1.toml
unknown_mac=52:54:00:c0:4e:99
started=$SECONDS
timings=()

log() { printf 'boot-vm: %s\n' "$*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
timed() { # timed LABEL SINCE: notes how long a stage took
  timings+=("$(printf '%-34s %4ss' "$1" "$((SECONDS - $2))")")
  log "$1: $((SECONDS - $2)) s"
}

# ---- Tools ----

tools=(qemu-system-x86_64 qemu-img socat busybox debootstrap mkfs.ext4 debugfs curl openssl)
missing=()
for tool in "${tools[@]}"; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -e /usr/lib/ipxe/qemu/efi-virtio.rom ] || missing+=(/usr/lib/ipxe/qemu/efi-virtio.rom)
((EUID == 0)) || missing+=("root (debootstrap, chroot and mounts build the VM's root)")
if ((${#missing[@]})); then
  packages=$(awk -v want=" ${missing[*]} " '!/^#/ && NF {
      for (i = 2; i <= NF; i++) if (index(want, " " $i " ")) { sub(/\/.*/, "", $1); print $1; break } }' \
    "$repo/.ci/packages" | sort -u | tr '\n' ' ')
  if [ "${COREGEN_REQUIRE_TOOLS:-}" = 1 ]; then
    fail "needs ${missing[*]}, not there (COREGEN_REQUIRE_TOOLS=1 requires them); packages: ${packages:-none}; run \`bash .ci/run\` as root"
  fi
  log "SKIPPED: needs ${missing[*]}, not there (packages: ${packages:-none}; \`bash .ci/run\` as root installs them); set COREGEN_REQUIRE_TOOLS=1 to fail instead"
  exit 0
fi

# ---- Cleanup: everything started here, by its pid ----

work=$(mktemp -d "${TMPDIR:-/tmp}/coregen-boot-vm.XXXXXX")
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if ((status == 0)) && [ "${COREGEN_VM_KEEP:-}" != 1 ]; then
    rm -rf "$work"
  else
    log "logs, disks and projects kept in $work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- Stage 1: the VM's kernel, initramfs and root disk (cached) ----

t=$SECONDS
versions=$(apt-cache policy linux-image-amd64 dracut dracut-network ignition systemd 2>/dev/null |
  awk '/^[^ ]/ { p = $1 } /Candidate:/ { print p, $2 }')
key=$( (
  echo "$versions"
  cat "$repo"/tests/vm/build-root.sh "$repo"/tests/vm/ignition-kargs-helper \
    "$repo"/tests/vm/coregen-vm-check "$repo"/tests/vm/coregen-vm-check.service
) | sha256sum | cut -c1-16)
images=$cache/$key
if [ -e "$images/done" ]; then
  log "the VM's root, kernel and initramfs: cached in $images"
else
  log "building the VM's root, kernel and initramfs ($(echo "$versions" | tr '\n' ' '))"
  mkdir -p "$cache"
  rm -rf "$images.new"
  bash "$repo/tests/vm/build-root.sh" "$images.new"
  echo "$versions" >"$images.new/versions"
  touch "$images.new/done"
  mv "$images.new" "$images"
  # Only the current build is kept.
  find "$cache" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
fi
timed "root, kernel, initramfs" "$t"

# ---- Stage 2: coregen, the projects, the servers ----

t=$SECONDS
if [ -z "${COREGEN_BIN:-}" ]; then
  (cd "$repo" && cargo build --quiet --locked --bin coregen)
fi
[ -x "$coregen" ] || fail "no coregen binary at $coregen"

# Project a: the real one. Project b: the same inventory with CAs of its
# own, whose pointer therefore carries another `http` CA.
for p in a b; do
  mkdir -p "$work/$p"
  cp -r "$repo/tests/vm/hosts" "$work/$p/hosts"
  "$coregen" -C "$work/$p" ca init >/dev/null 2>&1 || fail "coregen ca init in project $p"
done
cmp -s "$work/a/pki/http/ca.crt" "$work/b/pki/http/ca.crt" && fail "the two projects share an http CA"

# serve_start NAME DIR: starts `coregen serve` on loopback ports the OS
# picks; sets serve_https and serve_http to them.
serve_start() {
  local name=$1 dir=$2 logf=$work/serve-$1.log
  COREGEN_LOG=info "$coregen" -C "$dir" serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    >"$logf" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q 'over plain HTTP on' "$logf" && break
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  serve_https=$(sed -n 's/.* on 127\.0\.0\.1:\([0-9]*\) (.*/\1/p' "$logf" | head -n 1)
  serve_http=$(sed -n 's/.*over plain HTTP on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$logf" | head -n 1)
  if [ -z "$serve_https" ] || [ -z "$serve_http" ]; then
    fail "coregen serve ($name) did not start: $(cat "$logf")"
  fi
}
serve_start a "$work/a"
a_https=$serve_https a_http=$serve_http
serve_start b "$work/b"
b_http=$serve_http

# The kernel and initramfs, from a plain static server (until `serve
# --assets` exists).
mkdir -p "$work/assets"
ln -s "$images/vmlinuz" "$images/initrd.img" "$work/assets/"
assets=
for _ in $(seq 20); do
  port=$((20000 + RANDOM % 20000))
  busybox httpd -f -vv -p "127.0.0.1:$port" -h "$work/assets" 2>>"$work/assets.log" &
  pid=$!
  sleep 0.2
  if kill -0 "$pid" 2>/dev/null && curl -fsS -o /dev/null "http://127.0.0.1:$port/vmlinuz"; then
    pids+=("$pid")
    assets=$port
    break
  fi
  kill "$pid" 2>/dev/null || true
done
[ -n "$assets" ] || fail "the static file server did not start"
: >"$work/assets.log"
timed "coregen, projects, servers" "$t"

# ---- The VM ----

# fwd PORT LOG [-v]: what QEMU runs for each connection of a guestfwd
# rule. -v copies the plain-HTTP traffic into LOG.
# shellcheck disable=SC2016 # expanded by the script written
printf '%s\n' '#!/bin/sh' 'exec socat $3 - "TCP:127.0.0.1:$1" 2>>"$2"' >"$work/fwd"
chmod +x "$work/fwd"
case $work in *[[:space:],]*) fail "the work folder $work has a space or comma, which QEMU's -netdev cannot take" ;; esac

# run_vm NAME MAC HTTP_PORT HTTPS_PORT [STOP_REGEX STOP_FILE [COUNT]]: boots a VM
# from a fresh copy of the root disk, its NIC's boot file being
# /boot.ipxe; 10.0.2.100:8080 and :8443 lead to HTTP_PORT and HTTPS_PORT,
# :8000 to the static server. It runs until it powers itself off, or
# STOP_REGEX shows in COUNT (1) lines of STOP_FILE (then 3 s more), or the
# timeout. Leaves
# its serial console in $work/NAME/serial.log and the plain-HTTP
# transcript in $work/NAME/http.log; sets vm_seconds and vm_timed_out.
run_vm() {
  local name=$1 mac=$2 http=$3 https=$4 stop=${5:-} stop_file=${6:-} stop_count=${7:-1}
  local dir=$work/$1
  mkdir -p "$dir"
  cp --sparse=always "$images/root.img" "$dir/disk.img"
  : >"$dir/serial.log"
  : >"$dir/http.log"
  # One socat per connection, its stderr to a file (it would go into the
  # guest's connection); libslirp runs the command without a shell.
  local fwd=guestfwd=tcp:10.0.2.100
  local netdev="user,id=net0,restrict=on,bootfile=http://10.0.2.100:8080/boot.ipxe"
  netdev+=",$fwd:8080-cmd:$work/fwd $http $dir/http.log -v"
  netdev+=",$fwd:8443-cmd:$work/fwd $https $dir/socat.log"
  netdev+=",$fwd:8000-cmd:$work/fwd $assets $dir/socat.log"
  local start=$SECONDS
  qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 2048 -smp 2 \
    -nographic -monitor none -serial "file:$dir/serial.log" \
    -netdev "$netdev" \
    -device "virtio-net-pci,netdev=net0,mac=$mac" \
    -drive "file=$dir/disk.img,if=virtio,format=raw" \
    -boot n -no-reboot </dev/null >"$dir/qemu.log" 2>&1 &
  local qemu=$!
  pids+=("$qemu")
  vm_timed_out=0
  while kill -0 "$qemu" 2>/dev/null; do
    if ((SECONDS - start >= vm_timeout)); then
      vm_timed_out=1
      kill "$qemu"
      break
    fi
    if [ -n "$stop" ] && (($(grep -aEc "$stop" "$stop_file") >= stop_count)); then
      sleep 3
      kill "$qemu" 2>/dev/null || true
      break
    fi
    sleep 0.5
  done
  wait "$qemu" 2>/dev/null || true
  vm_seconds=$((SECONDS - start))
}

# Where the VM's disk holds PATH (debugfs reads the ext4 image).
disk_has() { debugfs -R "stat $2" "$1" 2>/dev/null | grep -q '^Inode:'; }
show_serial() { # the end of a run's console, for a failure's context
  log "the end of $1's serial console:"
  tail -n 40 "$work/$1/serial.log" | sed 's/^/    /' >&2
}
host_list() { "$coregen" -C "$work/a" host list 2>&1; }
audit_lines() { "$coregen" -C "$work/a" audit --host vm1 2>/dev/null | grep -c . || true; }

# ---- Stage 3: an unknown MAC ----

t=$SECONDS
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$a_http/ipxe?mac=$unknown_mac")
[ "$status" = 404 ] || fail "/ipxe for an unknown MAC answered $status, not 404"
run_vm unknown "$unknown_mac" "$a_http" "$a_https" 'HTTP/1\.1 404' "$work/unknown/http.log"
# iPXE sends ${net0/mac} percent-encoded.
mac_re() { echo "${1//:/(:|%3[Aa])}"; }
grep -aEq "GET /ipxe\?mac=$(mac_re "$unknown_mac")[& ]" "$work/unknown/http.log" ||
  { show_serial unknown; fail "unknown MAC: the VM never asked for /ipxe?mac=$unknown_mac"; }
grep -aq 'HTTP/1\.1 404' "$work/unknown/http.log" ||
  { show_serial unknown; fail "unknown MAC: /ipxe did not answer 404"; }
grep -aq 'GET /pointer/' "$work/unknown/http.log" && fail "unknown MAC: the VM fetched a pointer"
[ -s "$work/assets.log" ] && fail "unknown MAC: the VM fetched a kernel or initramfs: $(cat "$work/assets.log")"
host_list | grep -Eq '^vm1 +never booted' || fail "unknown MAC: vm1 is no longer never booted: $(host_list)"
log "unknown MAC: /ipxe answered 404, no kernel, pointer or config fetched (${vm_seconds} s)"
timed "VM: unknown MAC (404)" "$t"

# ---- Stage 4: a pointer carrying another CA ----

t=$SECONDS
# Ignition retries a fetch that fails for as long as it runs: the VM is
# stopped once it has said why, three times.
refused='certificate signed by unknown authority'
run_vm other-ca "$mac" "$b_http" "$a_https" "$refused" "$work/other-ca/serial.log" 3
((vm_timed_out == 0)) || { show_serial other-ca; fail "other CA: Ignition did not refuse the config within ${vm_timeout}s"; }
grep -aq 'GET /pointer/vm1.ign' "$work/other-ca/http.log" ||
  { show_serial other-ca; fail "other CA: the VM never fetched its pointer"; }
grep -aq "https://10.0.2.100:8443/ignition/vm1.*$refused" "$work/other-ca/serial.log" ||
  { show_serial other-ca; fail "other CA: Ignition did not refuse the config for its CA"; }
grep -aq 'Finished ignition-files' "$work/other-ca/serial.log" &&
  { show_serial other-ca; fail "other CA: Ignition's files stage ran"; }
grep -q 'coregen-vm:' "$work/other-ca/serial.log" &&
  { show_serial other-ca; fail "other CA: the VM booted its root"; }
for path in /etc/coregen/enroll.env /usr/local/bin/coregen-enroll /var/lib/coregen; do
  ! disk_has "$work/other-ca/disk.img" "$path" || fail "other CA: Ignition wrote $path"
done
host_list | grep -Eq '^vm1 +never booted' || fail "other CA: vm1 got a token: $(host_list)"
[ "$(audit_lines)" = 0 ] || fail "other CA: the audit holds records of vm1"
log "other CA: Ignition refused the config; nothing written, no token minted, nothing enrolled (${vm_seconds} s)"
timed "VM: pointer with another CA" "$t"

# ---- Stage 5: the real boot, to enrolled ----

t=$SECONDS
run_vm enroll "$mac" "$a_http" "$a_https"
serial=$work/enroll/serial.log
((vm_timed_out == 0)) || { show_serial enroll; fail "the VM did not power off within ${vm_timeout}s"; }
for request in "GET /boot\.ipxe " "GET /ipxe\?mac=$(mac_re "$mac")[& ]" "GET /pointer/vm1\.ign"; do
  grep -aEq "$request" "$work/enroll/http.log" || fail "the VM never sent $request"
done
grep -q 'GET /vmlinuz\|url:/vmlinuz' "$work/assets.log" || fail "the VM never fetched its kernel: $(cat "$work/assets.log")"
grep -q 'coregen-vm: PASS' "$serial" || { show_serial enroll; fail "the VM did not say PASS"; }
verified=$(grep -ao 'coregen-vm: verified [a-z-]*:' "$serial" | sort -u | wc -l)
[ "$verified" = 2 ] || fail "the VM verified $verified certificates, not 2"
host_list | grep -Eq '^vm1 +enrolled' || fail "vm1 is not enrolled: $(host_list)"
# Its two profiles and its identity (with which it renews).
audited=$(audit_lines)
[ "$audited" = 3 ] || fail "the audit holds $audited records of vm1, not 3"
# The same certificates, checked here too: taken from the VM's disk,
# against the CAs of project a.
for pair in https:/etc/pki/coregen/https.crt:http etcd-peer:/etc/etcd/pki/peer.crt:etcd \
  identity:/var/lib/coregen/identity.crt:identity; do
  IFS=: read -r profile path ca <<<"$pair"
  debugfs -R "dump $path $work/enroll/$profile.crt" "$work/enroll/disk.img" >/dev/null 2>&1
  openssl verify -CAfile "$work/a/pki/$ca/ca.crt" "$work/enroll/$profile.crt" >/dev/null ||
    fail "$path from the VM's disk does not verify against CA $ca"
done
debugfs -R "cat /etc/coregen/enroll.env" "$work/enroll/disk.img" 2>/dev/null |
  grep -qx "COREGEN_TOKEN=''" || fail "the token was not wiped from the VM's enroll.env"
grep '^coregen-vm: PASS' "$serial" | tr -d '\r' >&2
log "enrolled: 2 certificates verify in the VM and here, the identity too, token spent, 3 audit records (${vm_seconds} s)"
timed "VM: boot to enrolled" "$t"

# ---- Stage 6: a second machine with the same MAC ----

t=$SECONDS
host_before=$(host_list)
run_vm again "$mac" "$a_http" "$a_https"
serial=$work/again/serial.log
((vm_timed_out == 0)) || { show_serial again; fail "same MAC: the VM did not power off within ${vm_timeout}s"; }
grep -q 'coregen-vm: FAIL not enrolled' "$serial" || { show_serial again; fail "same MAC: the VM did not report a refused enrollment"; }
grep -q 'coregen refused the enrollment: HTTP 409' "$serial" ||
  { show_serial again; fail "same MAC: the enrollment was not refused with 409"; }
host_list | grep -Eq '^vm1 +enrolled' || fail "same MAC: vm1 is not shown enrolled: $(host_list)"
[ "$(audit_lines)" = 3 ] || fail "same MAC: the audit changed: $(audit_lines) records"
log "same MAC: refused with 409; host list still shows vm1 enrolled; no new certificate (${vm_seconds} s)"
log "host list: $(host_list | tr '\n' '|')"
log "host list before: $(echo "$host_before" | tr '\n' '|')"
timed "VM: same MAC again (409)" "$t"

timed "whole test" "$started"
log "stages:"
printf '    %s\n' "${timings[@]}" >&2
log "PASS"
