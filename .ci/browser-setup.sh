#!/usr/bin/env bash
# Installs what tests/browser needs on a fresh Debian machine (run as root):
#   Debian's chromium (Playwright's own browser download needs the internet) and
#   voila + playwright (Python) into the virtual environment given as $1.
# Usage: .ci/browser-setup.sh .venv
set -euo pipefail
VENV="${1:?usage: $0 VENV_DIR (e.g. .venv)}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "No Python at $VENV/bin/python; create the environment first (make test does)." >&2
    exit 2
fi
if [ ! -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y chromium  # its recommends bring the fonts the screenshots need
fi
"$VENV/bin/python" -m pip install --quiet voila playwright
/usr/bin/chromium --version 2>/dev/null  # Debian's wrapper script warns on stderr
"$VENV/bin/python" -c "import voila, playwright; print('voila', voila.__version__, '- playwright OK')"
