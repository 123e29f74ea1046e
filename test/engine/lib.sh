# Shared by start.sh and stop.sh (sourced, not run): logging and the process helpers.

log() { echo "[test-engine] $*" >&2; }
die() { echo "[test-engine] ERROR: $*" >&2; exit 1; }

# is PID a live (not zombie) process?
alive() {
  local pid="$1" st
  [ -n "$pid" ] || return 1
  st="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
pid_from() { [ -s "$1" ] && tr -dc '0-9' <"$1" || true; }

# state_processes COMMS: pids of live processes named like the extended regex COMMS whose command
# line mentions $STATE/ (containerd and shims of a dockerd that was killed, a registry whose
# pidfile was lost, ...)
state_processes() {
  local comms="$1" d pid comm cmdline
  # builtins only in the loop (no process per /proc entry: this runs on busy machines)
  for d in /proc/[0-9]*; do
    pid="${d#/proc/}"
    read -r comm 2>/dev/null <"$d/comm" || continue
    [[ "$comm" =~ ^($comms)$ ]] || continue
    cmdline="$(tr '\0' ' ' 2>/dev/null <"$d/cmdline")" || continue
    [[ "$cmdline" == *"$STATE/"* ]] && alive "$pid" && echo "$pid"
  done
  return 0
}

# every engine and registry process of this state dir
engine_processes() { state_processes 'dockerd|containerd|containerd-shim.*|docker-registry|docker-proxy|runc'; }

# unmount_state: unmount whatever is mounted under $STATE/ (overlay layers, netns, shm of a dockerd
# that did not shut down cleanly), deepest first. Fails if something stays mounted.
unmount_state() {
  local mounts m
  mounts="$(awk -v p="$STATE/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)"
  [ -n "$mounts" ] || return 0
  log "unmounting $(printf '%s\n' "$mounts" | wc -l) leftover mount(s) under $STATE"
  while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "WARNING: could not unmount $m"
  done <<<"$mounts"
  mounts="$(awk -v p="$STATE/" 'index($2, p) == 1 { print $2 }' /proc/mounts)"
  [ -z "$mounts" ]
}

# remove_engine_data: drop everything a run leaves in $STATE except config and logs: the engine's
# data-root and exec-root (images, containers, build cache, and libnetwork's record of every build
# step's sandbox: dockerd 20.10 keeps those after the step's container is gone and removes them
# one by one, ~0.7 s each, at its next start) and both registries' storage (the suite's test
# repositories). Only with nothing of the engine running. Every run starts from this empty state.
remove_engine_data() {
  [ -e "$STATE/daemon.json" ] || die "$STATE is not a test engine state dir (no daemon.json)"
  unmount_state || die "mounts left under $STATE; not removing engine data"
  # --one-file-system: never follow a mount we failed to see into another file system
  rm -rf --one-file-system "$STATE/data" "$STATE/exec" "$STATE/registry/data" "$STATE/registry-auth/data"
}
