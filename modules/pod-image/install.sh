#!/bin/sh
# Prepares an image whose packages (packages.txt) are installed: packaged daemons stay disabled
# (the pods' own units start them in order at boot).
set -eu
for unit in frr.service strongswan.service nftables.service; do
  systemctl disable "$unit" 2>/dev/null || true
done
