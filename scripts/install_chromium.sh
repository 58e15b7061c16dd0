#!/usr/bin/env sh
# Install Debian's Chromium for the real-browser test (tests/test_browser.py), which is
# skipped without it. Playwright's own browser download is not used.
# Does nothing if Chromium is already there; installs it with apt-get only when apt-get
# exists and we are root (CI containers); otherwise prints how to install it. Never fails.
set -u
if [ -n "${CAM_EDU_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1; then
    echo "chromium: ${CAM_EDU_CHROMIUM:-$(command -v chromium)}"
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian's chromium for tests/test_browser.py ..."
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
        echo "chromium: $(command -v chromium)"
        exit 0
    fi
    echo "apt-get could not install chromium; tests/test_browser.py will be skipped." >&2
    exit 0
fi
echo "Chromium is not installed, so tests/test_browser.py will be skipped. Install it with" >&2
echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
echo "or set CAM_EDU_CHROMIUM=/path/to/chromium." >&2
exit 0
