#!/usr/bin/env python3
"""vrrl is consumable as a Meson subproject and, once installed, via pkg-config.

usage: check_consumer.py VRRL_SOURCE_ROOT
Builds test/consumer twice in a temporary directory: once with vrrl as
subprojects/vrrl (dependency('vrrl') resolved by meson.override_dependency),
once against `meson install` output found through pkg-config. Offline:
--wrap-mode=nodownload.
"""
import os
import shutil
import subprocess
import sys
import tempfile

source_root = os.path.abspath(sys.argv[1])
here = os.path.join(source_root, "test", "consumer")
vrrl_off = ["-Dvrrl:tests=disabled", "-Dvrrl:benchmarks=disabled", "-Dvrrl:tools=disabled"]


def run(*cmd, cwd=None, env=None):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


with tempfile.TemporaryDirectory() as work:
    # 1. As a subproject.
    project = os.path.join(work, "consumer")
    shutil.copytree(here, project, ignore=shutil.ignore_patterns("*.py"))
    os.makedirs(os.path.join(project, "subprojects"))
    os.symlink(source_root, os.path.join(project, "subprojects", "vrrl"))
    run("meson", "setup", "build", "--wrap-mode=nodownload", "--force-fallback-for=vrrl", *vrrl_off, cwd=project)
    run("ninja", "-C", "build", cwd=project)
    print(run(os.path.join(project, "build", "consumer"), os.path.join(work, "a.vrrl")).strip(), "(subproject)")

    # 2. Installed, found with pkg-config.
    prefix = os.path.join(work, "prefix")
    run("meson", "setup", os.path.join(work, "vrrl-build"), source_root, "--wrap-mode=nodownload",
        f"--prefix={prefix}", "--libdir=lib", "-Dtests=disabled", "-Dbenchmarks=disabled", "-Dtools=disabled")
    run("meson", "install", "-C", os.path.join(work, "vrrl-build"), "--quiet")
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    flags = run("pkg-config", "--cflags", "--libs", "vrrl", env=env).split()
    binary = os.path.join(work, "consumer-pkgconfig")
    run(os.environ.get("CXX", "c++"), "-std=c++20", os.path.join(here, "consumer.cpp"), "-o", binary, *flags,
        f"-Wl,-rpath,{os.path.join(prefix, 'lib')}")
    print(run(binary, os.path.join(work, "b.vrrl")).strip(), "(pkg-config)")
