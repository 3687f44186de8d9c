"""Runs one test file of test/python with pytest; exit 77 (meson: skipped) when
the interpreter lacks numpy or pytest, saying which and how to get them."""

import importlib.util
import sys

MESON_SKIP = 77

missing = [name for name in ("numpy", "pytest") if importlib.util.find_spec(name) is None]
if missing:
    print(f"skipped: {sys.executable} has no {' or '.join(missing)}. "
          "Fix: scripts/install-deps (Debian: apt-get install python3-numpy python3-pytest python3-pandas "
          "python3-matplotlib)", file=sys.stderr)
    sys.exit(MESON_SKIP)

import pytest  # noqa: E402

# No cache directory and no bytecode in the source tree; -rs prints why a case skipped.
sys.exit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", *sys.argv[1:]]))
