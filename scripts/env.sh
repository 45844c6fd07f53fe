# Sourced by the project's scripts: finds the Swift toolchain on machines
# where it is installed but not on PATH (as in CI's clean environment).
if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$d/swift" ] && export PATH="$d:$PATH" && break
  done
fi
command -v swift >/dev/null 2>&1 || { echo "swift not found: install Swift 6.1 or later" >&2; exit 1; }
