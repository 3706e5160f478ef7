#!/usr/bin/env bash
# The lab's Debian packages (see test/lab/). Run by `npm test` (pretest), by `npm run lab` and by every
# lab start (test/lab/lab.ts), before any namespace is touched, so a fresh machine needs nothing by hand.
#
#   scripts/lab-deps.sh            as root: install what is missing; otherwise name it and exit 1
#   scripts/lab-deps.sh --soft     the same, but exit 0 when not root (npm test: the lab then says it skips)
#
# DDNS_LAB_EXTRA_PACKAGES (space separated) adds packages to the list: the test of this script uses it to
# make one package missing without removing one that a lab running beside it needs.
set -euo pipefail
soft=0
[ "${1:-}" = --soft ] && soft=1
packages=(miniupnpd-nftables nftables dnsmasq-base isc-dhcp-client iproute2 socat miniupnpc natpmpc bind9 bind9-dnsutils
          ddclient libio-socket-ssl-perl libio-socket-inet6-perl inadyn iputils-tracepath openssl procps
          openssh-server openssh-client autossh chromium perl)
# shellcheck disable=SC2206 # word splitting is the point
packages+=(${DDNS_LAB_EXTRA_PACKAGES:-})

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  {
    echo "lab: these Debian packages are missing: ${missing[*]}"
    echo "lab: install them as root with:"
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  } >&2
  exit $((soft ? 0 : 1))
fi

# One install at a time (labs and test runs beside each other may all start here).
exec 9>/run/lock/ddns-lab-deps.lock
flock 9
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0

# Debian starts miniupnpd, dnsmasq, ddclient and inadyn when they are installed; the lab runs its own
# copies inside its namespaces. Rather than stopping them afterwards by name (which would also kill copies
# that other labs run in their namespaces), keep them from starting: invoke-rc.d asks policy-rc.d, and
# 101 means "action not allowed". An existing policy-rc.d (someone else's) is left alone and respected.
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# ddns lab-deps: no service starts during this install\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  ours=1
fi
cleanup() { if [ "$ours" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "lab: installing ${missing[*]}" >&2
apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
still=()
for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
if [ ${#still[@]} -gt 0 ]; then
  echo "lab: apt-get did not install: ${still[*]}" >&2
  exit 1
fi
