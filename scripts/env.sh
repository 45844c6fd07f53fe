# Sourced by the project's scripts: finds the Swift toolchain on machines
# where it is installed but not on PATH (as in CI's clean environment).
if ! command -v swift >/dev/null 2>&1; then
  for d in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
    [ -x "$d/swift" ] && export PATH="$d:$PATH" && break
  done
fi
command -v swift >/dev/null 2>&1 || { echo "swift not found: install Swift 6.1 or later" >&2; exit 1; }

# Every release build (install, benchmarks) links Swift's runtime and Foundation into the binary:
# no symbol look-ups across a dozen shared libraries at each start, direct calls to the runtime
# (retain, release) instead of through the PLT, and a binary that runs without the toolchain's
# libraries. The same flags everywhere: a release build with other flags rebuilds everything.
release=(-c release --static-swift-stdlib)
