#!/usr/bin/env bash
# Stop what test/engine/start.sh started for STATE_DIR: both registries and the private dockerd
# (with its containerd and any container shims). Waits for every process to exit; anything still
# running from STATE_DIR afterwards is killed. Data stays in STATE_DIR (rm -rf it to start clean).
#
#   test/engine/stop.sh STATE_DIR
set -euo pipefail

# shellcheck source=test/engine/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] && [ -n "$1" ] || die "usage: $0 STATE_DIR"
if [ ! -d "$1" ]; then
  log "nothing to stop: $1 does not exist"
  exit 0
fi
STATE="$(cd "$1" && pwd -P)"


# stop_pid NAME PID SECONDS: TERM, wait up to SECONDS, then KILL and wait a little more
stop_pid() {
  local name="$1" pid="$2" grace="$3" i
  alive "$pid" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "$name (pid $pid) still running after ${grace}s; sending KILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  log "WARNING: $name (pid $pid) did not exit"
  return 1
}

# every engine and registry process of this state dir
leftovers() { state_processes 'dockerd|containerd|containerd-shim.*|docker-registry|docker-proxy|runc'; }

exec 9>"$STATE/.engine.lock"
flock -w 90 9 || log "WARNING: $STATE/.engine.lock still held after 90s; stopping anyway"

rc=0
for name in registry registry-auth; do
  pid="$(pid_from "$STATE/$name/registry.pid")"
  stop_pid "registry $name" "$pid" 10 || rc=1
  rm -f "$STATE/$name/registry.pid"
done

# dockerd removes its pidfile on exit; the launch pid covers a dockerd that died before writing it
pid="$(pid_from "$STATE/dockerd.pid")"
[ -n "$pid" ] || pid="$(pid_from "$STATE/dockerd.launch.pid")"
# dockerd stops its containers (up to 15s each by default) and its containerd before exiting
stop_pid dockerd "$pid" 40 || rc=1
rm -f "$STATE/dockerd.pid" "$STATE/dockerd.launch.pid"

# nothing from this state dir may survive (containerd / shims of a killed dockerd, ...)
left="$(leftovers)"
if [ -n "$left" ]; then
  for pid in $left; do
    log "leftover process $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-120)"
    stop_pid "leftover" "$pid" 5 || rc=1
  done
fi

# mounts left by a dockerd that did not shut down cleanly (overlay layers, netns, shm)
mounts="$(awk -v p="$STATE/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)"
if [ -n "$mounts" ]; then
  log "unmounting $(printf '%s\n' "$mounts" | wc -l) leftover mount(s) under $STATE"
  printf '%s\n' "$mounts" | while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "WARNING: could not unmount $m"
  done
fi

rm -f "$STATE/docker.sock"
left="$(leftovers)"
if [ -n "$left" ]; then
  log "ERROR: processes still running from $STATE: $left"
  exit 1
fi
[ $rc -eq 0 ] || exit $rc
log "stopped (state kept in $STATE)"
