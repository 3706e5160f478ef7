#!/usr/bin/env bash
# The lab's Debian packages (see test/lab/): installed when missing and we are root; otherwise say what
# is missing. Run by `npm test` (pretest) and CI, so a fresh machine needs nothing by hand.
set -euo pipefail
packages=(miniupnpd-nftables nftables dnsmasq-base isc-dhcp-client iproute2 socat miniupnpc natpmpc
          ddclient libio-socket-ssl-perl libio-socket-inet6-perl inadyn iputils-tracepath openssl procps)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "lab-deps: not root, not installing: ${missing[*]} (the lab tests will be skipped)" >&2
  exit 0
fi
echo "lab-deps: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these on install; the lab runs its own copies inside network namespaces.
for svc in miniupnpd dnsmasq ddclient inadyn; do pkill -x "$svc" 2>/dev/null || true; done
