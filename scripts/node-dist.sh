#!/usr/bin/env bash
# The Node.js versions ddns is tested on (scripts/node-versions.txt: the oldest supported major, and the
# image's), as the official binaries the npm registry ships in the packages node-linux-<arch>@VERSION.
# Each is unpacked once under the cache directory and reused; a version already there costs nothing.
#
#   bash scripts/node-dist.sh [VERSION...]     (default: every line of scripts/node-versions.txt)
#
# Prints one bin directory a line (put it first on PATH). Cache: $DDNS_NODE_CACHE, else /opt/ddns-node
# when root, else ${XDG_CACHE_HOME:-~/.cache}/ddns-node.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ $# -eq 0 ]; then mapfile -t versions < <(grep -v '^\s*\(#\|$\)' "$here/node-versions.txt"); else versions=("$@"); fi
if [ -n "${DDNS_NODE_CACHE:-}" ]; then cache="$DDNS_NODE_CACHE"
elif [ "$(id -u)" = 0 ]; then cache=/opt/ddns-node
else cache="${XDG_CACHE_HOME:-$HOME/.cache}/ddns-node"; fi
case "$(uname -m)" in
  x86_64) arch=x64 ;; aarch64) arch=arm64 ;; armv7l) arch=armv7l ;; ppc64le) arch=ppc64le ;; s390x) arch=s390x ;;
  *) echo "node-dist: no official Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
mkdir -p "$cache"
for v in "${versions[@]}"; do
  dest="$cache/$v"
  if [ ! -x "$dest/bin/node" ] || [ "$("$dest/bin/node" --version 2>/dev/null)" != "v$v" ]; then
    tmp="$(mktemp -d "$cache/.unpack-$v.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    echo "node-dist: fetching node-linux-$arch@$v into $dest" >&2
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$v" >/dev/null)
    tar -xzf "$tmp"/node-linux-"$arch"-"$v".tgz -C "$tmp" package/bin/node package/LICENSE
    "$tmp/package/bin/node" --version >/dev/null
    rm -rf "$dest"
    mv "$tmp/package" "$dest"
    rm -rf "$tmp"
    trap - EXIT
  fi
  echo "$dest/bin"
done
