#!/usr/bin/env sh
# Install a Debian package that some tests need, if its program is missing:
#   sh scripts/apt_install.sh PACKAGE COMMAND WHY [VARIABLE]
# PACKAGE is the Debian package, COMMAND the program it provides, WHY what needs it (the
# tests that are skipped without it), VARIABLE an environment variable that may name the
# program instead (then nothing is installed).
# Does nothing if the program is there; installs the package with apt-get only when apt-get
# exists and we are root (CI containers); otherwise prints how to install it. Never fails:
# the tests that need the program are skipped without it.
set -u
if [ "$#" -lt 3 ]; then
    echo "usage: sh scripts/apt_install.sh PACKAGE COMMAND WHY [VARIABLE]" >&2
    exit 2
fi
package=$1
program=$2
why=$3
given=""
if [ -n "${4:-}" ]; then
    given=$(printenv "$4" || true)
fi
if [ -n "$given" ] || command -v "$program" >/dev/null 2>&1; then
    echo "$package: ${given:-$(command -v "$program")}"
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian's $package for $why ..."
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null; then
        echo "$package: $(command -v "$program")"
        exit 0
    fi
    echo "apt-get could not install $package; $why will be skipped." >&2
    exit 0
fi
echo "$package is not installed, so $why will be skipped. Install it with" >&2
echo "  sudo apt-get update && sudo apt-get install -y $package" >&2
echo "(or your system's package manager)${4:+, or set $4=/path/to/$program}." >&2
exit 0
