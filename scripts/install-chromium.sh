#!/usr/bin/env bash
# Install Debian's Chromium for the platform's browser tests (Playwright drives it through
# executable_path; `playwright install` cannot download browsers here), with its language
# packs (chromium-l10n): without them Chromium's own parts of a Swedish page (a file
# input's "Välj fil", a date input's ÅÅÅÅ-MM-DD) are in American English.
# Skips with a clear message where it cannot run (no apt-get, or not root and no sudo).
set -uo pipefail

PACKS=/usr/lib/chromium/locales/sv.pak
if command -v chromium >/dev/null 2>&1 && { [ -e "$PACKS" ] || ! command -v apt-get >/dev/null 2>&1; }; then
    echo "install-chromium: chromium already installed: $(command -v chromium)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: SKIPPED - no apt-get on this machine; browser tests will be skipped." >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "install-chromium: SKIPPED - not root and no password-less sudo; browser tests will be skipped." >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq; then
    echo "install-chromium: SKIPPED - apt-get update failed; browser tests will be skipped." >&2
    exit 0
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; then
    echo "install-chromium: SKIPPED - apt-get install chromium failed; browser tests will be skipped." >&2
    exit 0
fi
# The language packs follow chromium's version; the journeys fail without the Swedish one.
if ! $SUDO apt-get install -y -qq --no-install-recommends chromium-l10n >/dev/null; then
    echo "install-chromium: chromium-l10n failed to install; Swedish journeys will fail." >&2
fi
echo "install-chromium: installed $(command -v chromium) ($(ls /usr/lib/chromium/locales | grep -c '\.pak$') language packs)"
