# Sourced by scripts/install-*.sh: what each of them does before and around its install into the cache outside the
# repository. The sourcing script defines `log` and `installed` (true when the cached install is there and complete).

# Prints RESULT and ends the script when the install is there; otherwise takes the lock LOCKFILE (waiting for a
# concurrent run that holds it, with a log line saying it is WHAT) and looks again, since that run may have just
# installed it. Returns holding the lock (on descriptor 9, until the script ends), for the caller to install.
#   reuse_or_lock LOCKFILE RESULT WHAT
reuse_or_lock() {
  local lock="$1" result="$2" what="$3"
  if installed; then
    echo "$result"
    exit 0
  fi
  mkdir -p "$(dirname "$lock")"
  exec 9>"$lock"
  if ! flock -n 9; then
    log "another process is $what; waiting for it"
    flock 9
  fi
  if installed; then
    echo "$result"
    exit 0
  fi
}

# The stamp of a virtualenv installed from a constraints file: the main requirement and a hash of the pins
# (comments aside), so other pins mean a reinstall.
#   venv_stamp REQUIREMENT CONSTRAINTS_FILE
venv_stamp() {
  echo "$1 $(grep -v '^#' "$2" | sha256sum | cut -d' ' -f1)"
}

# Whether the virtualenv VENV is complete and was installed from the stamp WANT (written last, to VENV/.installed-from).
#   venv_installed VENV WANT
venv_installed() {
  [ -x "$1/bin/python" ] && [ -f "$1/.installed-from" ] && [ "$(cat "$1/.installed-from")" = "$2" ]
}
