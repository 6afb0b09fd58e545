# Shared setup steps for scripts/start and scripts/test: each is idempotent and quiet when nothing is to do.

log() { printf '[coffer] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    log "need root for: $*"; return 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq >/dev/null; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

softhsm_module() {
  for m in "${COFFER_PKCS11_MODULE:-}" /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    [ -n "$m" ] && [ -f "$m" ] && { echo "$m"; return 0; }
  done
  return 1
}

ensure_softhsm() {
  if softhsm_module >/dev/null; then return 0; fi
  log "installing softhsm2 (Debian package)"
  apt_install softhsm2
  softhsm_module >/dev/null || { log "softhsm2 installed but libsofthsm2.so not found"; return 1; }
}

ensure_node() {
  command -v node >/dev/null || { log "Node.js 20 or newer is required"; return 1; }
  local major; major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || { log "Node.js 20 or newer is required (found $(node --version))"; return 1; }
}

ensure_node_modules() {
  ensure_node
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
     || [ ! -f node_modules/pkcs11js/build/Release/pkcs11.node ]; then
    log "installing npm dependencies"
    # Not `npm ci`: npm 11 refuses this lock file for lacking other platforms' optional rollup binaries,
    # although `npm install` resolves exactly the locked versions from it.
    npm install --no-audit --no-fund --loglevel=error
  fi
  # Idempotent; also covers node_modules copied without running install scripts.
  node scripts/patch-postgres.mjs
}

build() {
  log "building"
  npx tsc -p tsconfig.build.json
  # The web console (served under /console): a static Vite build into dist/console.
  npx vite build --config console/vite.config.ts --logLevel warn
}

# The console's end-to-end tests drive Debian's Chromium through playwright-core.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  log "installing chromium (Debian package) for the console's end-to-end tests"
  apt_install chromium
}

# Starts the machine's Postgres cluster when it is installed but down; never fails the caller.
ensure_local_postgres() {
  command -v pg_isready >/dev/null 2>&1 || return 0
  pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    log "starting the local Postgres cluster"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 0.5; done
  fi
  log "no local Postgres answers: tests use TEST_DATABASE_URL or PGlite"
  return 0
}
