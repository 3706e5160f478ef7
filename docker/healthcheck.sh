#!/bin/bash
# The image's HEALTHCHECK: GET /readyz over bash's /dev/tcp, healthy on HTTP 200. It costs ~3 MiB and no
# measurable CPU, where `node /app/ddns.mjs health` costs ~58 MiB and 0.1 s of CPU every 30 s (README,
# Docker section). The daemon listens where DDNS_DAEMON_LISTEN says (default 127.0.0.1:9876); when
# nothing answers there — a daemon.listen set in the config file instead, or a daemon that is down —
# `ddns health` decides, which reads the configuration.
addr="${DDNS_DAEMON_LISTEN:-127.0.0.1:9876}"
host="${addr%:*}" port="${addr##*:}"
host="${host#[}" host="${host%]}"
if { exec 3<>"/dev/tcp/${host}/${port}"; } 2>/dev/null; then
  printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3
  IFS=' ' read -r -t 5 _ code _ <&3 || exit 1
  while IFS= read -r -t 1 _ <&3; do :; done   # the rest of the answer, so the daemon sees a clean close
  [ "$code" = 200 ]
  exit
fi
exec node /app/ddns.mjs health
