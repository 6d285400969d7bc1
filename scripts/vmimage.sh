#!/usr/bin/env bash
# Builds the VM lab's pod image with mmdebstrap from Debian packages, cached by the hash of its
# inputs (the pods' package list and install script, the lab's extra packages, this script):
#   $MICROSEG_CACHE/vmimage/<key>/{rootfs.img,vmlinuz,initrd.img}
# The pods' list (modules/pod-image/packages.txt) is the one EC2 Image Builder installs on AWS;
# the lab adds only what a VM needs to boot under QEMU and be driven (kernel, guest agent).
#   scripts/vmimage.sh          build if missing
#   scripts/vmimage.sh --path   print the image folder (exit 1 if not built)
source "$(dirname "$0")/lib.sh"
POD_LIST="$REPO_ROOT/modules/pod-image/packages.txt"
POD_INSTALL="$REPO_ROOT/modules/pod-image/install.sh"
LAB_LIST="$REPO_ROOT/tests/vmlab/lab-packages.txt"
packages() { grep -hvE '^\s*(#|$)' "$@" | awk '{print $1}' | sort -u | paste -sd, -; }
key=$(cat "$POD_LIST" "$POD_INSTALL" "$LAB_LIST" "$0" | sha256sum | cut -c1-12)
out="$MICROSEG_CACHE/vmimage/$key"
if [ "${1:-}" = --path ]; then echo "$out"; [ -f "$out/.complete" ]; exit; fi
[ -f "$out/.complete" ] && exit 0
mkdir -p "$MICROSEG_CACHE/vmimage"
exec 9>"$MICROSEG_CACHE/vmimage/.lock"; flock 9
[ -f "$out/.complete" ] && exit 0
log "vm image: building $out (mmdebstrap, bookworm)"
start=$SECONDS
rm -rf "$out" "$out.tmp"; mkdir -p "$out.tmp/root"
# The pods' own install script installs their pinned list inside the image, as the Image Builder
# component runs it on AWS; mmdebstrap adds only what the lab's VMs need besides.
mmdebstrap --variant=apt --include="$(packages "$LAB_LIST")" \
  --customize-hook='rm -f "$1/etc/machine-id" && : >"$1/etc/machine-id"' \
  --customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$1/etc/fstab"' \
  --customize-hook="cp '$POD_INSTALL' '$POD_LIST' \"\$1/tmp/\" && chroot \"\$1\" sh /tmp/install.sh /tmp/packages.txt && rm \"\$1/tmp/install.sh\" \"\$1/tmp/packages.txt\"" \
  bookworm "$out.tmp/root" >"$out.tmp/mmdebstrap.log" 2>&1 || { tail -30 "$out.tmp/mmdebstrap.log" >&2; die "mmdebstrap failed"; }
cp -L "$out.tmp/root"/boot/vmlinuz-* "$out.tmp/vmlinuz"
cp -L "$out.tmp/root"/boot/initrd.img-* "$out.tmp/initrd.img"
# 2 GiB sparse: room for logs and the lab's files; the base image stays read-only (VMs use overlays).
mkfs.ext4 -q -L root -d "$out.tmp/root" "$out.tmp/rootfs.img" 2G
rm -rf "$out.tmp/root"; mv "$out.tmp" "$out"; touch "$out/.complete"
echo "vmimage wall_s=$((SECONDS - start))" >>"$MICROSEG_CACHE/build-times.txt"
log "vm image built in $((SECONDS - start))s"
