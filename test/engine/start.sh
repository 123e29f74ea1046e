#!/usr/bin/env bash
# Start a private Docker engine and two loopback registries for the test suite.
#
#   test/engine/start.sh STATE_DIR
#
# Idempotent: whatever is already running for STATE_DIR (and answering) is reused. Otherwise the
# engine starts fresh: what is left of an earlier one (processes, mounts, images, containers,
# registry storage; an interrupted run leaves all of these) is ended and removed first.
#   - dockerd      data-root, exec-root, socket, pidfile, log all under STATE_DIR
#                  (--bridge=none --iptables=false: RUN steps work, host networking is not touched)
#   - registry     plain HTTP on 127.0.0.1:${IB_REGISTRY_PORT:-5055}
#   - registry     basic auth (ibuser / ibpass-secret) on 127.0.0.1:${IB_AUTH_REGISTRY_PORT:-5056}
#   - busybox:stable, a base image made from /bin/busybox and imported through the Engine API
#   - emulation of linux/arm64 (qemu-user-static, binfmt-support; binfmt_misc mounted if needed),
#     and skopeo (the multi-platform and attestations tests' independent reader of image indexes)
#     and Debian's arm64 busybox under /var/cache/image-builder-test/arm64/rootfs (IB_ARM64_ROOTFS)
# Writes STATE_DIR/env.sh (source it to point clients at all of the above).
# Missing tools are installed with apt (docker.io docker-registry busybox-static apache2-utils skopeo).
# The docker CLI is never used: the engine is spoken to with curl over its unix socket.
set -euo pipefail

# shellcheck source=test/engine/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] && [ -n "$1" ] || die "usage: $0 STATE_DIR"
mkdir -p "$1"
STATE="$(cd "$1" && pwd -P)"
# the engine's data here is removed at each fresh start and at stop: never in someone's directory
if [ ! -e "$STATE/daemon.json" ]; then
  # (apt.log and the lock: what a start.sh that failed before writing daemon.json left here)
  [ -z "$(ls -A "$STATE" | grep -vxE 'apt\.log|\.engine\.lock')" ] \
    || die "$STATE is not empty and not a test engine state dir (no daemon.json)"
  # own (empty) config so a host /etc/docker/daemon.json can't change behaviour
  echo '{}' >"$STATE/daemon.json"
fi

REG_PORT="${IB_REGISTRY_PORT:-5055}"
AUTH_PORT="${IB_AUTH_REGISTRY_PORT:-5056}"
AUTH_USER="ibuser"
AUTH_PASS="ibpass-secret"

SOCK="$STATE/docker.sock"
# unix socket paths (ours, and containerd's under the exec-root) are limited to 107 bytes
if [ $(( ${#STATE} + 40 )) -gt 107 ]; then
  die "state dir path too long for unix sockets (${#STATE} chars): $STATE"
fi

# ---------------------------------------------------------------------------------------------
# helpers


api() { curl -sS --max-time 120 --unix-socket "$SOCK" "$@"; }
ping_ok() { [ "$(curl -s --max-time 3 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" = OK ]; }
# before a fresh dockerd: end what is left of an earlier engine (containerd and shims of a killed
# dockerd, registries) and remove its data, so that the new one has no stale state to clean up
clean_stale_engine() {
  local i left
  left="$(engine_processes)"
  if [ -n "$left" ]; then
    log "ending leftover engine processes of $STATE: $(echo $left)"
    kill -TERM $left 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      left="$(engine_processes)"; [ -z "$left" ] && break; sleep 0.1
    done
    [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$STATE/dockerd.pid" "$STATE/registry/registry.pid" "$STATE/registry-auth/registry.pid" "$SOCK"
  local t0=$SECONDS
  # Said only when there was an earlier engine's data to remove (a fresh state dir has none).
  local had=""
  for d in "$STATE/data" "$STATE/registry/data" "$STATE/registry-auth/data"; do [ -e "$d" ] && had=1; done
  remove_engine_data
  [ -z "$had" ] || log "removed the data of the previous engine in $((SECONDS - t0))s"
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
# 0. tools (CI machines start without them)

ensure_tools() {
  local pkgs=()
  command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io)
  command -v docker-registry >/dev/null 2>&1 || pkgs+=(docker-registry)
  command -v htpasswd >/dev/null 2>&1 || pkgs+=(apache2-utils)
  # need a *static* busybox (the dynamically linked one from package "busybox" can't be a rootfs)
  local bb_ldd=""
  [ -x /bin/busybox ] && bb_ldd="$(LC_ALL=C ldd /bin/busybox 2>&1 || true)"
  case "$bb_ldd" in
    *"not a dynamic"*) ;;
    *) pkgs+=(busybox-static) ;;
  esac
  command -v curl >/dev/null 2>&1 || pkgs+=(curl)
  command -v setsid >/dev/null 2>&1 || pkgs+=(util-linux)
  command -v flock >/dev/null 2>&1 || pkgs+=(util-linux)
  command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)   # the token-auth registry test signs its tokens; the signatures test judges signatures with it
  command -v skopeo >/dev/null 2>&1 || pkgs+=(skopeo)     # an independent client of indexes and OCI layouts (cli-indexes test)
  [ ${#pkgs[@]} -eq 0 ] && return 0

  [ "$(id -u)" = 0 ] || die "missing packages (${pkgs[*]}) and not root: cannot apt-get install them"
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${pkgs[*]}) and no apt-get"
  log "installing missing packages: ${pkgs[*]}"
  local t0=$SECONDS policy=/usr/sbin/policy-rc.d made_policy=0
  # keep package scripts from starting system-wide services (docker, registry) on install
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  local rc=0
  {
    apt-get update -q >"$STATE/apt.log" 2>&1 &&
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -q "${pkgs[@]}" >>"$STATE/apt.log" 2>&1
  } || rc=$?
  [ $made_policy = 1 ] && rm -f "$policy"
  if [ $rc -ne 0 ]; then
    tail -n 30 "$STATE/apt.log" >&2 || true
    die "apt-get failed (exit $rc); full log: $STATE/apt.log"
  fi
  log "packages installed in $((SECONDS - t0))s"
  for c in dockerd docker-registry htpasswd curl; do
    command -v "$c" >/dev/null 2>&1 || die "$c still missing after install"
  done
}

# ---------------------------------------------------------------------------------------------
# 1. dockerd

start_dockerd() {
  local pidfile="$STATE/dockerd.pid" pid
  pid="$(pid_from "$pidfile")"
  if alive "$pid" && ping_ok; then
    log "reusing dockerd (pid $pid) on $SOCK"
    return 0
  fi
  if alive "$pid"; then
    # running but not answering: give it the same grace as a fresh start before giving up
    log "dockerd (pid $pid) is running but not answering yet; waiting"
  else
    clean_stale_engine
    mkdir -p "$STATE/data" "$STATE/exec"
    log "starting dockerd (state: $STATE)"
    setsid dockerd \
      --config-file "$STATE/daemon.json" \
      --data-root "$STATE/data" \
      --exec-root "$STATE/exec" \
      --pidfile "$pidfile" \
      -H "unix://$SOCK" \
      --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
      </dev/null >"$STATE/dockerd.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$STATE/dockerd.launch.pid"
  fi
  local t0=$SECONDS
  while ! ping_ok; do
    if ! alive "$pid"; then
      log "dockerd exited during startup; last lines of $STATE/dockerd.log:"
      tail -n 40 "$STATE/dockerd.log" >&2 || true
      exit 1
    fi
    if [ $((SECONDS - t0)) -ge 60 ]; then
      log "dockerd did not answer /_ping within 60s; last lines of $STATE/dockerd.log:"
      tail -n 40 "$STATE/dockerd.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  log "dockerd up (pid $(pid_from "$pidfile")) in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------------------------------------
# 2. registries

# start_registry NAME PORT EXPECTED_V2_STATUS [htpasswd]
start_registry() {
  local name="$1" port="$2" want="$3" auth="${4:-}"
  local dir="$STATE/$name" url="http://127.0.0.1:$port/v2/"
  local pidfile="$dir/registry.pid" pid
  mkdir -p "$dir/data"
  pid="$(pid_from "$pidfile")"
  if alive "$pid" && ! grep -qxF "  addr: 127.0.0.1:$port" "$dir/config.yml" 2>/dev/null; then
    # ours, but started for another port: replace it
    log "registry $name (pid $pid) listens on another port; restarting it on $port"
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    sleep 0.2
    pid=""
  fi
  if alive "$pid"; then
    if [ "$(http_status "$url")" = "$want" ]; then
      log "reusing registry $name (pid $pid) on 127.0.0.1:$port"
      return 0
    fi
    # ours but not (yet) answering: wait below
  else
    local got
    got="$(http_status "$url")"
    if [ -n "$got" ] && [ "$got" != 000 ]; then
      die "port 127.0.0.1:$port is already in use by another process (GET /v2/ -> $got); stop it or set IB_REGISTRY_PORT / IB_AUTH_REGISTRY_PORT"
    fi
    {
      echo "version: 0.1"
      echo "log:"
      echo "  level: warn"
      echo "storage:"
      echo "  filesystem:"
      echo "    rootdirectory: $dir/data"
      echo "  delete:"
      echo "    enabled: true"
      echo "http:"
      echo "  addr: 127.0.0.1:$port"
      echo "  secret: image-builder-tests"
      if [ -n "$auth" ]; then
        echo "auth:"
        echo "  htpasswd:"
        echo "    realm: image-builder-test"
        echo "    path: $dir/htpasswd"
      fi
    } >"$dir/config.yml"
    if [ -n "$auth" ]; then
      htpasswd -Bbn "$AUTH_USER" "$AUTH_PASS" >"$dir/htpasswd"
    fi
    log "starting registry $name on 127.0.0.1:$port"
    # the inner shell records its own pid, then becomes the registry (exec): the pidfile is exact
    setsid sh -c 'echo $$ >"$1"; exec docker-registry serve "$2"' sh "$pidfile" "$dir/config.yml" \
      </dev/null >"$dir/registry.log" 2>&1 9>&- &
    pid=$!
  fi
  local t0=$SECONDS st=""
  while :; do
    st="$(http_status "$url")"
    [ "$st" = "$want" ] && break
    if ! alive "$pid"; then
      log "registry $name exited during startup; last lines of $dir/registry.log:"
      tail -n 20 "$dir/registry.log" >&2 || true
      exit 1
    fi
    if [ $((SECONDS - t0)) -ge 30 ]; then
      log "registry $name: GET $url -> '$st', wanted $want, after 30s; last lines of $dir/registry.log:"
      tail -n 20 "$dir/registry.log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  log "registry $name up (pid $pid): GET /v2/ -> $st"
}

# ---------------------------------------------------------------------------------------------
# 3. base image busybox:stable

ensure_base_image() {
  local st
  st="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$SOCK" \
        http://localhost/images/busybox:stable/json || true)"
  if [ "$st" = 200 ]; then
    log "base image busybox:stable present"
    return 0
  fi
  log "creating base image busybox:stable from /bin/busybox"
  local b="$STATE/base"
  rm -rf "$b"
  mkdir -p "$b/rootfs/bin" "$b/rootfs/tmp" "$b/rootfs/etc" "$b/rootfs/root"
  chmod 1777 "$b/rootfs/tmp"
  cp /bin/busybox "$b/rootfs/bin/busybox"
  local c
  for c in sh ls cat echo date mkdir rm cp touch env sleep id false true test grep sed wc head tail printf \
           '[' mv ln chmod pwd uname whoami basename dirname find xargs sort uniq cut tr tee stat; do
    ln -sf busybox "$b/rootfs/bin/$c"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$b/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$b/rootfs/etc/group"
  tar --numeric-owner --owner=0 --group=0 -C "$b/rootfs" -cf "$b/busybox.tar" .
  local out
  # changes: CMD ["sh"] and a PATH, like the real busybox image
  out="$(api -X POST -H 'Content-Type: application/x-tar' --data-binary "@$b/busybox.tar" \
    'http://localhost/images/create?fromSrc=-&repo=busybox&tag=stable&changes=CMD%20%5B%22sh%22%5D&changes=ENV%20PATH%3D%2Fusr%2Flocal%2Fsbin%3A%2Fusr%2Flocal%2Fbin%3A%2Fusr%2Fsbin%3A%2Fusr%2Fbin%3A%2Fsbin%3A%2Fbin')" \
    || die "image import request failed"
  if printf '%s' "$out" | grep -q '"error'; then
    die "image import failed: $out"
  fi
  st="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --unix-socket "$SOCK" \
        http://localhost/images/busybox:stable/json || true)"
  [ "$st" = 200 ] || die "busybox:stable missing after import ($out)"
  rm -rf "$b"
  log "base image busybox:stable imported"
}

# ---------------------------------------------------------------------------------------------
# 4. other platforms (issue 17): qemu-user-static registered in binfmt_misc, so the engine runs
#    linux/arm64 RUN steps emulated, and the arm64 busybox of Debian's busybox-static:arm64, from
#    which the multi-platform test makes an arm64 base image (FROM scratch, platform=linux/arm64).
#    IB_EMULATION_SKIP says why not, when the kernel refuses binfmt_misc.

ARM64_CACHE=/var/cache/image-builder-test/arm64
EMULATION_SKIP=""

ensure_emulation() {
  # Installed even where binfmt_misc is refused: the probe programs' unit test runs them with qemu directly.
  local pkgs=()
  [ -x /usr/bin/qemu-aarch64-static ] || pkgs+=(qemu-user-static)
  command -v update-binfmts >/dev/null 2>&1 || pkgs+=(binfmt-support)
  # Debian's skopeo: the multi-platform and attestations tests read the pushed image indexes with it, as an independent client.
  command -v skopeo >/dev/null 2>&1 || pkgs+=(skopeo)
  if [ ${#pkgs[@]} -gt 0 ]; then
    log "installing for emulation and skopeo: ${pkgs[*]}"
    local install=(env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -q "${pkgs[@]}")
    "${install[@]}" >>"$STATE/apt.log" 2>&1 || { apt-get update -q >>"$STATE/apt.log" 2>&1 && "${install[@]}" >>"$STATE/apt.log" 2>&1; } \
      || die "apt-get install ${pkgs[*]} failed; full log: $STATE/apt.log"
  fi
  local bm=/proc/sys/fs/binfmt_misc
  if [ ! -e "$bm/status" ]; then
    mount -t binfmt_misc binfmt_misc "$bm" >/dev/null 2>&1 || {
      EMULATION_SKIP="the kernel refuses binfmt_misc (mount -t binfmt_misc failed)"; log "WARNING: $EMULATION_SKIP"; return 0; }
  fi
  [ -e "$bm/qemu-aarch64" ] || update-binfmts --enable qemu-aarch64 >>"$STATE/apt.log" 2>&1 || true
  if [ ! -e "$bm/qemu-aarch64" ]; then
    EMULATION_SKIP="the kernel refuses the qemu-aarch64 binfmt_misc registration"; log "WARNING: $EMULATION_SKIP"; return 0
  fi
  # Debian's arm64 busybox, downloaded once per machine (dpkg-deb -x needs no arm64 dpkg database).
  if [ ! -x "$ARM64_CACHE/rootfs/bin/busybox" ]; then
    log "fetching busybox-static:arm64"
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    local dl="$ARM64_CACHE/download"
    rm -rf "$dl" && mkdir -p "$dl" "$ARM64_CACHE"
    ( cd "$dl" && { apt-get download -q busybox-static:arm64 >>"$STATE/apt.log" 2>&1 \
        || { apt-get update -q >>"$STATE/apt.log" 2>&1 && apt-get download -q busybox-static:arm64 >>"$STATE/apt.log" 2>&1; }; } ) \
      || die "apt-get download busybox-static:arm64 failed; full log: $STATE/apt.log"
    rm -rf "$ARM64_CACHE/rootfs" "$ARM64_CACHE/x" && dpkg-deb -x "$dl"/busybox-static_*_arm64.deb "$ARM64_CACHE/x"
    mkdir -p "$ARM64_CACHE/rootfs/bin" "$ARM64_CACHE/rootfs/tmp"
    cp "$ARM64_CACHE/x/bin/busybox" "$ARM64_CACHE/rootfs/bin/busybox"
    for c in sh ls cat echo uname mkdir rm cp touch env true false; do ln -sf busybox "$ARM64_CACHE/rootfs/bin/$c"; done
    rm -rf "$ARM64_CACHE/x" "$dl"
  fi
}

# ---------------------------------------------------------------------------------------------

write_env() {
  local tmp="$STATE/env.sh.tmp.$$"
  {
    echo "# written by test/engine/start.sh; source me"
    printf 'export DOCKER_HOST=%q\n' "unix://$SOCK"
    printf 'export IB_REGISTRY=%q\n' "127.0.0.1:$REG_PORT"
    printf 'export IB_AUTH_REGISTRY=%q\n' "127.0.0.1:$AUTH_PORT"
    printf 'export IB_AUTH_USER=%q\n' "$AUTH_USER"
    printf 'export IB_AUTH_PASS=%q\n' "$AUTH_PASS"
    printf 'export IB_ENGINE_STATE=%q\n' "$STATE"
    if [ -n "$EMULATION_SKIP" ]; then printf 'export IB_EMULATION_SKIP=%q\n' "$EMULATION_SKIP"
    else printf 'export IB_ARM64_ROOTFS=%q\n' "$ARM64_CACHE/rootfs"; fi
  } >"$tmp"
  mv -f "$tmp" "$STATE/env.sh"
}

T0=$SECONDS
ensure_tools
# one start/stop at a time per state dir (the daemons are started with fd 9 closed)
exec 9>"$STATE/.engine.lock"
flock -w 90 9 || log "WARNING: $STATE/.engine.lock still held after 90s; going on without it"

start_dockerd
start_registry registry "$REG_PORT" 200
start_registry registry-auth "$AUTH_PORT" 401 htpasswd
ensure_base_image
ensure_emulation
write_env
log "engine ready in $((SECONDS - T0))s; source $STATE/env.sh"
