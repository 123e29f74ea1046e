#!/usr/bin/env bash
# Stop what test/engine/start.sh started for STATE_DIR: both registries and the private dockerd
# (with its containerd and any container shims). Containers still there (builds cut short) are
# removed first, through the Engine API. Waits for every process to exit; anything still running
# from STATE_DIR afterwards is killed. Then the engine's and the registries' data is removed, so
# nothing of the run is left (images, test repositories) and the next start is a fresh one;
# config and logs stay in STATE_DIR.
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
if [ ! -e "$STATE/daemon.json" ]; then
  log "nothing to stop: $STATE is not a test engine state dir (no daemon.json)"
  exit 0
fi


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

# remove_containers DOCKERD_PID: force-remove every container of a live, answering dockerd (build
# steps of a run cut short): dockerd would otherwise give each one its stop timeout on shutdown
remove_containers() {
  local sock="$STATE/docker.sock" ids id n=0
  alive "$1" || return 0
  ids="$(curl -s --max-time 10 --unix-socket "$sock" 'http://localhost/containers/json?all=1' 2>/dev/null |
         grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)" || return 0
  [ -n "$ids" ] || return 0
  for id in $ids; do
    curl -sf -o /dev/null --max-time 30 -X DELETE --unix-socket "$sock" \
      "http://localhost/containers/$id?force=1&v=1" 2>/dev/null && n=$((n + 1))
  done
  log "removed $n container(s) left in the engine"
}

T0=$SECONDS
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
remove_containers "$pid"
# dockerd stops its containerd before exiting
stop_pid dockerd "$pid" 40 || rc=1
rm -f "$STATE/dockerd.pid" "$STATE/dockerd.launch.pid"

# nothing from this state dir may survive (containerd / shims of a killed dockerd, ...)
left="$(engine_processes)"
if [ -n "$left" ]; then
  for pid in $left; do
    log "leftover process $pid: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-120)"
    stop_pid "leftover" "$pid" 5 || rc=1
  done
fi

rm -f "$STATE/docker.sock"
left="$(engine_processes)"
if [ -n "$left" ]; then
  log "ERROR: processes still running from $STATE: $left"
  exit 1
fi
remove_engine_data
[ $rc -eq 0 ] || exit $rc
log "stopped in $((SECONDS - T0))s; engine and registry data removed (config and logs kept in $STATE)"
