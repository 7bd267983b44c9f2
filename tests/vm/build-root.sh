#!/usr/bin/env bash
# Builds what the VM of tests/boot-vm.sh boots, from Debian's packages:
# a bookworm root (debootstrap minbase) with systemd, openssl and curl, a
# Debian kernel, and a dracut initramfs carrying Debian's Ignition. Writes
# OUT/vmlinuz, OUT/initrd.img and OUT/root.img (ext4, 2 GiB, sparse).
# Needs root (debootstrap, chroot, mounts) and network access to the
# Debian mirror. Usage: build-root.sh OUT
set -euo pipefail

out=$1
here=$(cd "$(dirname "$0")" && pwd)
mirror=${COREGEN_VM_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d "${TMPDIR:-/tmp}/coregen-vm-root.XXXXXX")
root=$work/root

cleanup() {
  for m in dev/pts dev sys proc; do
    mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stage() { printf 'boot-vm: build: %s (%ss)\n' "$*" "$SECONDS" >&2; }

stage "debootstrap minbase bookworm"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,udev,dbus,openssl,curl,ca-certificates,iproute2,kmod,procps \
  bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

# dracut and Ignition first, without a kernel, so that installing the
# kernel afterwards builds the one initramfs we want, with the config and
# the stubs below already in place.
stage "dracut, dracut-network, ignition"
in_root apt-get install -y -qq --no-install-recommends dracut dracut-network ignition \
  >"$work/apt1.log" 2>&1 || {
  tail -n 30 "$work/apt1.log" >&2
  exit 1
}

# What Fedora CoreOS provides and Debian's Ignition 2.14 expects.
# - Debian's ignition-kargs-helper always fails; this one applies nothing
#   and only checks that the kernel arguments asked for are already there.
install -m 0755 "$here/ignition-kargs-helper" \
  "$root/usr/lib/dracut/modules.d/30ignition/ignition-kargs-helper.sh"
# - Ignition relabels what it writes with setfiles; there is no SELinux here.
printf '#!/bin/sh\nexit 0\n' >"$root/usr/sbin/setfiles"
chmod 0755 "$root/usr/sbin/setfiles"
mkdir -p "$root/etc/selinux"
printf 'SELINUX=disabled\nSELINUXTYPE=targeted\n' >"$root/etc/selinux/config"
# - The initramfs: generic, with Ignition and networkd, and only the
#   drivers this VM needs (virtio disk and NIC, ext4).
cat >"$root/etc/dracut.conf.d/90-coregen-vm.conf" <<'EOF'
hostonly="no"
add_dracutmodules+=" ignition systemd-networkd "
drivers+=" virtio_pci virtio_blk virtio_net ext4 crc32c_generic "
EOF

stage "linux-image-amd64 (and the initramfs)"
in_root apt-get install -y -qq --no-install-recommends linux-image-amd64 \
  >"$work/apt2.log" 2>&1 || {
  tail -n 30 "$work/apt2.log" >&2
  exit 1
}
kernels=("$root"/boot/vmlinuz-*)
version=${kernels[0]##*/vmlinuz-}
[ -s "$root/boot/initrd.img-$version" ] || {
  echo "boot-vm: build: no initramfs was made for $version" >&2
  exit 1
}
lsinitrd_out=$(in_root lsinitrd "/boot/initrd.img-$version")
for want in usr/bin/ignition usr/sbin/ignition-kargs-helper usr/sbin/setfiles virtio_net; do
  grep -q "$want" <<<"$lsinitrd_out" || {
    echo "boot-vm: build: the initramfs lacks $want" >&2
    exit 1
  }
done

stage "the root's first-boot setup"
# systemd applies Ignition's presets at the first boot.
printf 'uninitialized\n' >"$root/etc/machine-id"
echo coregen-vm >"$root/etc/hostname"
# The root's own network: DHCP on the NIC, which coregen-enroll waits for
# (network-online.target).
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/20-wired.network"
# The check that reports on the serial console, then powers off.
install -m 0755 "$here/coregen-vm-check" "$root/usr/local/sbin/coregen-vm-check"
install -m 0644 "$here/coregen-vm-check.service" "$root/etc/systemd/system/coregen-vm-check.service"
mkdir -p "$root/etc/systemd/system-preset"
printf 'enable %s\n' systemd-networkd.service systemd-networkd-wait-online.service \
  coregen-vm-check.service >"$root/etc/systemd/system-preset/10-coregen-vm.preset"
in_root systemctl enable systemd-networkd.service systemd-networkd-wait-online.service \
  coregen-vm-check.service >/dev/null 2>&1
# Nothing may wait for a keyboard, nor reset the serial console (a getty
# there would flush the check's last lines at shutdown).
in_root systemctl mask systemd-firstboot.service getty@tty1.service \
  serial-getty@ttyS0.service >/dev/null 2>&1

for m in dev/pts dev sys proc; do umount -l "$root/$m"; done
stage "the disk image"
mkdir -p "$out"
cp "$root/boot/vmlinuz-$version" "$out/vmlinuz"
cp "$root/boot/initrd.img-$version" "$out/initrd.img"
rm -rf "${root:?}/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*_Packages
mkfs.ext4 -q -F -L root -d "$root" "$out/root.img" 2G
stage "done: kernel $version"
