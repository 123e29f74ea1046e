#!/usr/bin/env bash
# The whole test suite (`npm test`): install deps if needed, compile, start a private Docker engine
# and registries (test/engine/start.sh), run unit then integration tests with uvu, stop the engine.
#
# Environment:
#   IB_ENGINE_STATE   engine state dir            (default /tmp/image-builder-test-engine)
#   IB_KEEP_ENGINE=1  leave the engine running afterwards (stop it with test/engine/stop.sh DIR)
#   IB_TEST_TIMEOUT   seconds allowed per uvu run (default 1800: a guard against a hung test, not a
#                     speed limit; on a busy machine the integration run alone can take 15 minutes)
#   CI=true           an engine that can't be started is a hard failure
#
# Each run starts from an empty engine and empty registries, and stopping removes their data
# (test/engine/stop.sh). Tests get a TMPDIR of their own, removed at the end. Ctrl-C (SIGINT) or
# SIGTERM at any point stops the tests and the engine and removes the temporary files; the next
# run starts as fast as a first one.
#
# Once tests have run, the last line printed is "N passed, N failed" (sum over unit and
# integration runs); exit status is non-zero on any failure or if integration tests did not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

export FORCE_COLOR=0 NO_COLOR=1 NPM_CONFIG_COLOR=false
# No SBOM layer cache in the user's home: a test that wants one names its own directory.
export IMAGE_BUILDER_CACHE=none
T0=$SECONDS
log() { echo "[test-engine] $*" >&2; }
elapsed() { echo "$((SECONDS - T0))s"; }

STATE="${IB_ENGINE_STATE:-/tmp/image-builder-test-engine}"
TIMEOUT="${IB_TEST_TIMEOUT:-1800}"
IS_CI=0
case "${CI:-}" in true|TRUE|True|1|yes) IS_CI=1 ;; esac

PASSED=0
FAILED=0
PROBLEMS=()
ENGINE_STARTED=0
TMP="$(mktemp -d "${TMPDIR:-/tmp}/image-builder-test.XXXXXX")"

TEST_PID=""     # the running uvu's `timeout`: the leader of the tests' own process group
cleanup() {
  local rc=$?
  set +e
  trap '' INT TERM   # a second Ctrl-C must not cut the engine's stop short
  if [ "$ENGINE_STARTED" = 1 ]; then
    if [ "${IB_KEEP_ENGINE:-}" = 1 ]; then
      log "IB_KEEP_ENGINE=1: engine left running; stop it with: bash test/engine/stop.sh $STATE"
    else
      bash "$ROOT/test/engine/stop.sh" "$STATE" || { log "ERROR: stopping the engine failed"; [ $rc -ne 0 ] || rc=1; }
    fi
  fi
  rm -rf "$TMP"
  exit $rc
}
# The tests run in a process group of their own (see run_uvu), which a terminal's Ctrl-C or a
# signal to npm's process group does not reach: end it here, then exit (and so clean up).
SIGNALLED=""
on_signal() {
  [ -z "$SIGNALLED" ] || return 0
  SIGNALLED=1
  trap '' INT TERM
  log "interrupted: stopping the tests and the engine"
  if [ -n "$TEST_PID" ]; then
    # timeout passes the signal on to the tests and KILLs them 10 s later (-k 10)
    kill -TERM -- "-$TEST_PID" 2>/dev/null || kill -TERM "$TEST_PID" 2>/dev/null
    wait "$TEST_PID" 2>/dev/null
  fi
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# --- 1. dependencies ------------------------------------------------------------------------------
if [ ! -d node_modules ] || [ ! -e node_modules/.package-lock.json ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing dependencies (npm ci)"
  t=$SECONDS
  npm ci --no-audit --no-fund || { log "FAIL: npm ci failed"; exit 1; }
  log "npm ci took $((SECONDS - t))s"
fi

# --- 2. compile -----------------------------------------------------------------------------------
log "compiling (tsc -p tsconfig.json -> dist/)"
t=$SECONDS
# no stale compiled tests: drop dist/test/**/*.test.js whose .ts source is gone
if [ -d dist/test ]; then
  while IFS= read -r js; do
    src="${js#dist/}"; src="${src%.js}.ts"
    [ -e "$src" ] || { log "removing stale $js"; rm -f "$js" "$js.map"; }
  done < <(find dist/test -name '*.test.js' -type f)
fi
node_modules/.bin/tsc -p tsconfig.json || { log "FAIL: TypeScript compilation failed; no tests ran"; exit 1; }
log "compiled in $((SECONDS - t))s"

# --- 2b. groovy, to compile the Jenkinsfile (test/integration/jenkinsfile.test.ts) -------------------------
if ! command -v groovyc >/dev/null 2>&1; then
  log "installing groovy (Debian package) for the Jenkinsfile check"
  t=$SECONDS
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q groovy; } >"$TMP/groovy-apt.log" 2>&1 \
    || { tail -n 20 "$TMP/groovy-apt.log" >&2; log "FAIL: could not install groovy"; exit 1; }
  log "groovy installed in $((SECONDS - t))s"
fi

# --- 2c. chromium, for the report's browser test (test/integration/report-browser.test.ts) ---------
# Debian's own browser, driven by playwright-core: no browser download. About 90 s to install.
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium (Debian package) for the report's browser test"
  t=$SECONDS
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >"$TMP/chromium-apt.log" 2>&1 \
    || { tail -n 20 "$TMP/chromium-apt.log" >&2; log "FAIL: could not install chromium"; exit 1; }
  log "chromium installed in $((SECONDS - t))s"
fi

# --- 3. engine ------------------------------------------------------------------------------------
ENGINE_OK=0
ENGINE_STARTED=1       # from here on, stop whatever start.sh got running (even if it failed midway)
t=$SECONDS
if bash "$ROOT/test/engine/start.sh" "$STATE"; then
  # shellcheck disable=SC1091
  source "$STATE/env.sh"
  ENGINE_OK=1
  log "engine started in $((SECONDS - t))s (DOCKER_HOST=$DOCKER_HOST)"
else
  export IB_NO_ENGINE=1
  if [ $IS_CI = 1 ]; then
    log "ERROR: CI=true and the Docker engine could not be started; integration tests cannot run"
  else
    log "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    log "!!! WARNING: the Docker engine could not be started (see above). Running unit tests only;"
    log "!!! integration tests will NOT run and the suite will FAIL."
    log "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  fi
fi

# The product must work without a docker CLI: a `docker` that fails loudly shadows any real one.
mkdir -p "$TMP/bin"
cat >"$TMP/bin/docker" <<'EOF'
#!/bin/sh
echo "docker CLI must not be used (called as: docker $*)" >&2
exit 127
EOF
chmod +x "$TMP/bin/docker"
export PATH="$TMP/bin:$PATH"
# whatever the tests leave in their temporary directories (an interrupted test can't clean up)
# goes with $TMP
mkdir -p "$TMP/tmp"
export TMPDIR="$TMP/tmp"
# What tests keep for a look afterwards (the report browser test's screenshots), outside TMPDIR.
export IB_TEST_ARTIFACTS="${IB_TEST_ARTIFACTS:-$STATE/artifacts}"

# --- 4. tests -------------------------------------------------------------------------------------
# run_uvu LABEL DIR [PATTERN]: runs uvu on DIR, adds its counts to PASSED / FAILED
run_uvu() {
  local label="$1" dir="$2" pattern="${3:-\.test\.js$}" out="$TMP/$1.out" rc=0 total passed
  if [ ! -d "$dir" ]; then
    log "note: $dir does not exist; no $label tests to run"
    return 0
  fi
  log "running $label tests ($dir)"
  # in the background, so that a signal's trap runs at once (bash defers traps until a foreground
  # command ends); timeout puts the tests in a process group of their own, see on_signal
  set +e
  # Made before tail follows it: the background job may not have opened it yet (a busy machine).
  : >"$out"
  timeout -k 10 "$TIMEOUT" node test/uvu-run.mjs --no-color "$dir" "$pattern" >"$out" 2>&1 &
  TEST_PID=$!
  tail -n +1 -f --pid="$TEST_PID" "$out" &
  local tail_pid=$!
  wait "$TEST_PID"
  rc=$?
  TEST_PID=""
  wait "$tail_pid"
  set -e
  sed -i 's/\x1b\[[0-9;]*[A-Za-z]//g' "$out"
  total="$(sed -n 's/^ *Total: *\([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)"
  passed="$(sed -n 's/^ *Passed: *\([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)"
  if [ -n "$total" ] && [ -n "$passed" ]; then
    PASSED=$((PASSED + passed))
    FAILED=$((FAILED + total - passed))
    if [ $rc -ne 0 ] && [ "$total" = "$passed" ]; then
      FAILED=$((FAILED + 1))
      PROBLEMS+=("$label: uvu exited $rc although all tests passed")
    elif [ $rc -ne 0 ]; then
      PROBLEMS+=("$label: $((total - passed)) failing test(s) (uvu exit code $rc)")
    fi
  else
    FAILED=$((FAILED + 1))
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
      PROBLEMS+=("$label: timed out after ${TIMEOUT}s (IB_TEST_TIMEOUT)")
    else
      PROBLEMS+=("$label: uvu exited $rc without a test summary (a test file failed to load?)")
    fi
  fi
  return 0
}

run_uvu unit dist/test/unit
if [ $ENGINE_OK = 1 ]; then
  run_uvu integration dist/test/integration
  # The tests whose behaviour must not depend on the builder, again under the classic builder
  # (the run above uses BuildKit, which the test engine has; test/helpers/engine.ts TEST_BUILDER).
  IB_TEST_BUILDER=classic run_uvu integration-classic dist/test/integration '^(engine-build|engine-push|cli-examples|cli-bases|cli-results|cli-signals)\.test\.js$'
else
  PROBLEMS+=("integration tests did NOT run: no Docker engine")
fi

# --- 5. summary -----------------------------------------------------------------------------------
if [ "$ENGINE_STARTED" = 1 ] && [ "${IB_KEEP_ENGINE:-}" != 1 ]; then
  ENGINE_STARTED=0
  bash "$ROOT/test/engine/stop.sh" "$STATE" || PROBLEMS+=("stopping the engine failed")
elif [ "$ENGINE_STARTED" = 1 ]; then
  ENGINE_STARTED=0
  log "IB_KEEP_ENGINE=1: engine left running; stop it with: bash test/engine/stop.sh $STATE"
fi
for p in ${PROBLEMS[@]+"${PROBLEMS[@]}"}; do log "FAIL: $p"; done
log "total time $(elapsed)"
echo "$PASSED passed, $FAILED failed"
if [ "$FAILED" -ne 0 ] || [ ${#PROBLEMS[@]} -ne 0 ]; then
  exit 1
fi
exit 0
