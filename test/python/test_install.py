"""The package installs offline into a venv (pip --no-build-isolation --no-index)
and works from there: what a user who does not use PYTHONPATH gets."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import SOURCE_ROOT


def test_install_into_a_venv(tmp_path, make_logs):
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                          capture_output=True, text=True, timeout=300)
    if made.returncode != 0:
        pytest.skip(f"no venv here (Debian: python3-venv): {made.stderr.strip()[-300:]}")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "source"
    shutil.copytree(os.path.join(SOURCE_ROOT, "python"), source,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    env.update(PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    done = subprocess.run([str(python), "-m", "pip", "install", "--no-build-isolation", "--no-index", str(source)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    log = tmp_path / "log.vrrl"
    make_logs("fields", log, 64, 10)
    check = ("import vrrl, sys\n"
             "log = vrrl.open(sys.argv[1])\n"
             "print(vrrl.__file__)\n"
             "print(len(log.records()), log.header.capacity)\n")
    done = subprocess.run([str(python), "-c", check, str(log)], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    installed_at, counts = done.stdout.splitlines()
    assert installed_at.startswith(str(venv)) and counts == "10 64"
    done = subprocess.run([str(python), "-m", "vrrl.plot", "--help"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0 and "--by" in done.stdout
