#!/bin/sh
# Prepares the pod image (Debian 12): installs exactly the pins of packages.txt (beside this script,
# or $1) with apt, holds them, and leaves the packaged daemons disabled (the pods' own units start
# them in order at boot). Run as root by the pod-image module's Image Builder component. The VM
# lab's image (scripts/vmimage.sh) has mmdebstrap install the same list and runs this script in the
# image without the list: then only the packages' installation is skipped. Idempotent.
#
# MICROSEG_APT_SNAPSHOT=20261125T000000Z installs from snapshot.debian.org at that time, so the pins
# stay installable after the mirrors moved on to a newer security update.
#
# install.sh --verify [packages.txt]: only checks that every pin is installed at exactly its version
# (the component's validate and test phases), exit 1 naming each difference.
set -eu
verify=0
if [ "${1:-}" = --verify ]; then verify=1; shift; fi
list=${1:-$(dirname "$0")/packages.txt}
if [ -r "$list" ]; then
  pins=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
  names=$(printf '%s\n' $pins | sed 's/=.*//')
elif [ "$verify" = 1 ] || [ -n "${1:-}" ]; then
  echo "install.sh: no package list at $list" >&2; exit 1
else
  pins="" names=""  # installed by the caller (the VM lab's mmdebstrap)
fi
export DEBIAN_FRONTEND=noninteractive

if [ "$verify" = 1 ]; then
  # shellcheck disable=SC2086
  have=$(dpkg-query -W -f '${Package}=${Version}\n' $names 2>/dev/null | sort)
  want=$(printf '%s\n' $pins | sort)
  if [ "$have" != "$want" ]; then
    echo "install.sh: the image differs from $list:" >&2
    printf '%s\n' "$want" | grep -vxF "$have" | sed 's/^/  missing or other version: /' >&2
    exit 1
  fi
  echo "install.sh: all $(printf '%s\n' $pins | wc -l) pins installed"
  exit 0
fi

if [ -n "${MICROSEG_APT_SNAPSHOT:-}" ]; then
  cat >/etc/apt/sources.list.d/microseg-snapshot.list <<EOF
deb [check-valid-until=no] https://snapshot.debian.org/archive/debian/${MICROSEG_APT_SNAPSHOT} bookworm main
deb [check-valid-until=no] https://snapshot.debian.org/archive/debian/${MICROSEG_APT_SNAPSHOT} bookworm-updates main
deb [check-valid-until=no] https://snapshot.debian.org/archive/debian-security/${MICROSEG_APT_SNAPSHOT} bookworm-security main
EOF
fi

if [ -n "$pins" ]; then
  apt-get update
  # shellcheck disable=SC2086 # one word per pin
  apt-get install -y --no-install-recommends $pins
  # shellcheck disable=SC2086
  apt-mark hold $names >/dev/null
fi

# The pod's units start these in order (microseg-pod.target, written by the pod's user_data): the
# image must not start them on its own before cloud-init has written their configuration.
for unit in frr.service strongswan.service nftables.service; do
  systemctl disable "$unit" >/dev/null 2>&1 || true
done
[ -n "$pins" ] || exit 0

# What went into the image, for audits.
mkdir -p /etc/microseg
# shellcheck disable=SC2086
dpkg-query -W -f '${Package}=${Version}\n' $names >/etc/microseg/image-packages
apt-get clean
rm -rf /var/lib/apt/lists/*
echo "install.sh: installed $(wc -l </etc/microseg/image-packages) pinned packages"
