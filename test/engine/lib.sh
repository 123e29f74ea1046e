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
  local comms="$1" f pid comm
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"; pid="${pid%/cmdline}"
    comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || continue
    [[ "$comm" =~ ^($comms)$ ]] || continue
    if tr '\0' ' ' <"$f" 2>/dev/null | grep -qF -- "$STATE/"; then
      alive "$pid" && echo "$pid"
    fi
  done
  return 0
}
