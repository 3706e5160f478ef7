#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack` (prepack builds the bundle), installed globally into a
# temporary prefix, then run from there with no checkout around it: `ddns --version`, `ddns config schema`,
# and `ddns check --json` in a network namespace with only loopback (unshare --net: nothing leaves this
# machine). Fails if the install is over the size budget (15 MiB). Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
budget_kib=$((15 * 1024))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/cwd"

tgz="$(npm pack --silent --pack-destination "$work")"
tar -tzf "$work/$tgz" | sort > "$work/files"
for f in package/LICENSE package/README.md package/package.json package/dist/ddns.mjs package/dist/config.schema.json; do
  grep -qx "$f" "$work/files" || { echo "pack-check: $f is not in $tgz" >&2; exit 1; }
done
npm install --global --prefix "$work/prefix" --no-audit --no-fund --loglevel=error "$work/$tgz"
ddns="$work/prefix/bin/ddns"

size_kib="$(du -sk "$work/prefix" | cut -f1)"
echo "pack-check: $tgz ($(du -k "$work/$tgz" | cut -f1) KiB), global install $((size_kib / 1024)).$(((size_kib % 1024) * 10 / 1024)) MiB ($(ls "$work/prefix/lib/node_modules/ddns/node_modules" 2>/dev/null | wc -l) packages beside it)"
[ "$size_kib" -le "$budget_kib" ] || { echo "pack-check: the global install is ${size_kib} KiB, over the ${budget_kib} KiB budget" >&2; exit 1; }

# From an empty directory with an empty home: no config file anywhere.
cd "$work/cwd"
export HOME="$work/home"
want="$(node -p 'require(process.argv[1]).version' "$OLDPWD/package.json")"
got="$("$ddns" --version)"
[ "$got" = "$want" ] || { echo "pack-check: ddns --version said '$got', expected '$want'" >&2; exit 1; }
"$ddns" config schema | node -e '
  const s = JSON.parse(require("fs").readFileSync(0, "utf8"));
  if (s.title !== "ddns configuration" || !s.properties?.records) { console.error("pack-check: config schema is not the configuration schema"); process.exit(1); }'
cmp -s <("$ddns" config schema) "$work/prefix/lib/node_modules/ddns/dist/config.schema.json" \
  || { echo "pack-check: dist/config.schema.json differs from ddns config schema" >&2; exit 1; }

set +e
unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh "$ddns" --json check > "$work/check.json" 2> "$work/check.log"
rc=$?
set -e
[ "$rc" = 0 ] || [ "$rc" = 1 ] || { echo "pack-check: ddns check exited $rc" >&2; cat "$work/check.log" >&2; exit 1; }
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const steps = r.steps ?? [];
  if (steps.length === 0) { console.error("pack-check: check --json has no steps"); process.exit(1); }
  console.log(`pack-check: check --json (loopback only, exit ${process.argv[2]}): ${steps.map((s) => `${s.id}=${s.status}`).join(" ")}`);' \
  "$work/check.json" "$rc"
echo "pack-check: ok"
