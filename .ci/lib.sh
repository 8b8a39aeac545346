# Helpers for .ci/run, in their own file so that tests can source them (packages/cli/test/ci-script.test.ts).
# Sourced under `set -euo pipefail`: every function must succeed when it has nothing to report.

log() { printf '\n== %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Prints the installed version of a Debian package, or nothing (and succeeds) when dpkg has never heard of it:
# dpkg-query exits 1 for an unknown name, which under `set -o pipefail` would end the script silently.
installed_version() {
  { dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null || true; } | awk '$1 == "installed" { print $2 }'
}

# ERR trap: under `set -e` a failing command ends the script; say which one and where first, so that a CI log
# never ends without a reason. Install with: trap 'on_error $? "$BASH_COMMAND" $LINENO' ERR
on_error() {
  printf '\n== .ci/run FAILED (exit %s) at %s line %s: %s\n' "$1" "${BASH_SOURCE[1]:-.ci/run}" "$3" "$2" >&2
}
