#!/usr/bin/env python3
"""vrrl as its adopters get it: a Meson subproject, and an installed package
found by CMake (find_package, pkg_check_modules) and pkg-config.

usage: check_consumer.py VRRL_SOURCE_ROOT VRRL_BUILD_ROOT

1. Meson parent: test/consumer with vrrl as subprojects/vrrl. vrrl adds one
   target (its static library): no tests in the parent's `meson test --list`,
   nothing of vrrl's in the parent's `meson install`; -Dvrrl:NAME=enabled
   turns the parts back on.
2. Installed: `meson install --destdir` of VRRL_BUILD_ROOT (the build being
   tested, nothing rebuilt). Files, SONAME, exported symbols (vrrl's, all of
   them, no Boost), every header on its own (and below C++20: "vrrl needs
   C++20" first), the consumer built with CMake both ways and with
   pkg-config, `man vrrl`, the bash completion.
Offline (--wrap-mode=nodownload); everything happens in a temporary directory.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

source_root = os.path.abspath(sys.argv[1])
build_root = os.path.abspath(sys.argv[2])
here = os.path.join(source_root, "test", "consumer")
cxx = os.environ.get("CXX", "c++")


def run(*cmd, cwd=None, env=None, expect_failure=False):
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if (result.returncode != 0) != expect_failure:
        fail(f"`{' '.join(cmd)}` exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def fail(what):
    sys.exit(f"FAILED: {what}")


def check(condition, what, details=""):
    if not condition:
        fail(f"{what}\n{details}")
    print("ok:", what)


def introspect(build_dir, what):
    return json.loads(run("meson", "introspect", build_dir, what).stdout)


def option_value(build_dir, name):
    return next(o["value"] for o in introspect(build_dir, "--buildoptions") if o["name"] == name)


def symbols(*nm_command, types=None):
    """Demangled symbol names from an nm command, optionally only those of the given type letters."""
    names = set()
    for line in run(*nm_command).stdout.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and (types is None or parts[1] in types):
            names.add(parts[2])
    return names


def commands_of(vrrl, env):
    """The commands `vrrl --help` lists (its "Subcommands:" section)."""
    names, inside = [], False
    for line in run(vrrl, "--help", env=env).stdout.splitlines():
        if not line.startswith(" "):
            inside = line.strip() == "Subcommands:"
        elif inside and line.strip():
            names.append(line.split()[0])
    return names


# --- 1. Meson parent project -------------------------------------------------

def meson_parent(work):
    project = os.path.join(work, "parent")
    shutil.copytree(here, project, ignore=shutil.ignore_patterns("*.py", "CMakeLists.txt"))
    os.makedirs(os.path.join(project, "subprojects"))
    os.symlink(source_root, os.path.join(project, "subprojects", "vrrl"))

    def setup(name, *options):
        build = os.path.join(project, name)
        run("meson", "setup", build, "--wrap-mode=nodownload", "--force-fallback-for=vrrl", *options, cwd=project)
        targets = [(t["name"], t["type"]) for t in introspect(build, "--targets") if t["subproject"] == "vrrl"]
        tests = run("meson", "test", "-C", build, "--list", "--no-rebuild").stdout.splitlines()
        installed = list(introspect(build, "--installed").values())
        return build, targets, tests, installed

    build, targets, tests, installed = setup("build")
    check(targets == [("vrrl", "static library")],
          "as a subproject vrrl builds its static library and nothing else", f"got {targets}")
    check(tests == ["consumer"], "the parent's `meson test --list` is its own test only", f"got {tests}")
    check(installed == [os.path.join(option_value(build, "prefix"), option_value(build, "bindir"), "consumer")],
          "the parent's install plan is its own binary only", f"got {installed}")

    run("ninja", "-C", build)
    destdir = os.path.join(work, "parent-destdir")
    run("meson", "install", "-C", build, "--no-rebuild", "--destdir", destdir, "--quiet")
    files = sorted(os.path.relpath(os.path.join(d, f), destdir) for d, _, fs in os.walk(destdir) for f in fs)
    check(len(files) == 1 and files[0].endswith("/consumer"),
          "`meson install` of the parent installs nothing of vrrl's", f"got {files}")
    binary = os.path.join(destdir, files[0])
    needed = run("readelf", "-d", binary).stdout
    check("libvrrl" not in needed, "the parent's binary links vrrl statically: nothing of vrrl's to install")
    print(run(binary, os.path.join(work, "parent.vrrl")).stdout.strip(), "(Meson subproject, installed)")

    _, targets, tests, installed = setup("build-examples", "-Dvrrl:examples=enabled")
    names = [name for name, _ in targets]
    check("readme_example" in names and "vrrl" in names and not any(n.endswith("_test") for n in names),
          "-Dvrrl:examples=enabled adds the examples, and only them", f"got {names}")

    _, targets, tests, installed = setup("build-all", "-Dvrrl:tests=enabled", "-Dvrrl:tools=enabled",
                                         "-Dvrrl:install=enabled")
    types = dict(targets)
    check(types.get("vrrl") == "executable" and any(name.endswith("_test") for name in types),
          "-Dvrrl:tests=enabled -Dvrrl:tools=enabled build vrrl's tests and its CLI in the parent")
    check(any(test.startswith("vrrl:") for test in tests),
          "... and the parent's `meson test --list` shows vrrl's tests")
    check(any(path.endswith("/bin/vrrl") for path in installed) and any("/include/vrrl" in p for p in installed),
          "-Dvrrl:install=enabled installs vrrl's CLI and headers with the parent")


# --- 2. Installed --------------------------------------------------------------

def installed_package(work):
    if not introspect(build_root, "--installed"):
        fail(f"{build_root} installs nothing (-Dinstall=disabled?). Fix: meson configure {build_root} -Dinstall=auto")
    destdir = os.path.join(work, "destdir")
    run("meson", "install", "-C", build_root, "--no-rebuild", "--destdir", destdir, "--quiet")
    prefix = destdir + option_value(build_root, "prefix")
    libdir = os.path.join(prefix, option_value(build_root, "libdir"))
    includedir = os.path.join(prefix, option_value(build_root, "includedir"))
    version = introspect(build_root, "--projectinfo")["version"]
    major, minor, _ = version.split(".")
    soversion = f"{major}.{minor}" if major == "0" else major
    env = dict(os.environ, LD_LIBRARY_PATH=libdir, PATH=os.path.join(prefix, "bin") + os.pathsep + os.environ["PATH"])

    # Files and the SONAME.
    def headers_under(root):
        return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs
                      if f.endswith(".hpp"))

    source_headers = headers_under(os.path.join(source_root, "include", "vrrl"))
    headers = headers_under(os.path.join(includedir, "vrrl"))
    check(headers == sorted(source_headers + ["version.hpp"]),
          "every public header and the generated version.hpp are installed", f"got {headers}")
    for name in ["pkgconfig/vrrl.pc", "cmake/vrrl/vrrlConfig.cmake", "cmake/vrrl/vrrlConfigVersion.cmake",
                 f"libvrrl.so.{version}"]:
        check(os.path.isfile(os.path.join(libdir, name)), f"{name} is installed")
    shared = os.path.join(libdir, f"libvrrl.so.{version}")
    soname = re.search(r"\(SONAME\)\s+Library soname: \[(.*)\]", run("readelf", "-d", shared).stdout)
    check(soname and soname.group(1) == f"libvrrl.so.{soversion}",
          f"the SONAME is libvrrl.so.{soversion} (0.x: it changes with the minor version)")
    with open(os.path.join(includedir, "vrrl", "version.hpp")) as version_hpp:
        check(f'version = "{version}"' in version_hpp.read(), f"vrrl::version is the project version {version}")

    # Exported symbols: vrrl's own, all of them, and nothing else (Boost.Interprocess is private).
    exported = symbols("nm", "-D", "--defined-only", "-C", shared)
    check(not [name for name in exported if "boost::" in name],
          f"`nm -D --defined-only libvrrl.so` lists no boost:: symbol (of {len(exported)})")
    vrrl_owned = ("vrrl::", "typeinfo for vrrl::", "typeinfo name for vrrl::", "vtable for vrrl::")
    foreign = sorted(name for name in exported if not name.startswith(vrrl_owned))
    check(not foreign, "libvrrl.so exports vrrl's symbols only", "\n".join(foreign))
    static = os.path.join(libdir, "libvrrl.a")
    if os.path.exists(static):
        defined = symbols("nm", "--defined-only", "-C", "--extern-only", static, types="T")
        public = {name for name in defined if name.startswith("vrrl::") and not name.startswith("vrrl::detail::")}
        hidden = sorted(public - set(exported))
        check(not hidden, "every function lib/ defines in namespace vrrl (outside vrrl::detail) is exported",
              "Fix: mark their classes or declarations VRRL_EXPORT (include/vrrl/export.hpp):\n" + "\n".join(hidden))

    # Each installed header compiles on its own, and below C++20 says so first.
    source = os.path.join(work, "header.cpp")
    for header in headers:
        with open(source, "w") as out:
            out.write(f"#include <vrrl/{header}>\n")
        run(cxx, "-std=c++20", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only", f"-I{includedir}", source)
        if "/" in header:
            continue  # detail/ is reached through the others
        errors = run(cxx, "-std=c++17", "-fsyntax-only", f"-I{includedir}", source, expect_failure=True).stderr
        first = next((line for line in errors.splitlines() if ": error:" in line), "")
        if "vrrl needs C++20" not in first:
            fail(f"<vrrl/{header}> with -std=c++17: the first error is not \"vrrl needs C++20\" but\n{errors}")
    check(True, f"each of the {len(headers)} installed headers compiles on its own (C++20, -Wall -Wextra -Werror), "
                "and with -std=c++17 fails first with \"vrrl needs C++20\"")

    # pkg-config, as README shows it (the sysroot maps the .pc's prefix into destdir).
    pkg_env = dict(env, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"), PKG_CONFIG_SYSROOT_DIR=destdir)
    flags = run("pkg-config", "--cflags", "--libs", "vrrl", env=pkg_env).stdout.split()
    binary = os.path.join(work, "consumer-pkg-config")
    run(cxx, "-std=c++20", os.path.join(here, "consumer.cpp"), "-o", binary, *flags, f"-Wl,-rpath,{libdir}")
    print(run(binary, os.path.join(work, "pkg-config.vrrl")).stdout.strip(), "(pkg-config)")

    # CMake: find_package(vrrl) and pkg_check_modules(... IMPORTED_TARGET vrrl).
    def cmake_consumer(name, *options, env=env, expect_failure=False):
        build = os.path.join(work, name)
        result = run("cmake", "-S", here, "-B", build, "-G", "Ninja", *options, env=env, expect_failure=expect_failure)
        if expect_failure:
            return result.stderr
        run("cmake", "--build", build, env=env)
        return run(os.path.join(build, "consumer"), os.path.join(work, name + ".vrrl")).stdout.strip()

    print(cmake_consumer("cmake-find-package", f"-DCMAKE_PREFIX_PATH={prefix}",
                         f"-DVRRL_CONSUMER_WANTS={major}.{minor}"),
          "(CMake find_package)")
    needed = run("readelf", "-d", os.path.join(work, "cmake-find-package", "consumer")).stdout
    check(f"[libvrrl.so.{soversion}]" in needed,
          f"vrrl::vrrl links the shared library: the consumer needs libvrrl.so.{soversion}")
    if os.path.exists(os.path.join(libdir, "libvrrl.a")):
        print(cmake_consumer("cmake-static", f"-DCMAKE_PREFIX_PATH={prefix}", "-DVRRL_CONSUMER_STATIC=ON"),
              "(CMake find_package, vrrl::vrrl_static)")
        check("libvrrl" not in run("readelf", "-d", os.path.join(work, "cmake-static", "consumer")).stdout,
              "vrrl::vrrl_static links libvrrl.a")
    newer = f"{major}.{int(minor) + 1}" if major == "0" else f"{int(major) + 1}.0"
    refused = cmake_consumer("cmake-too-new", f"-DCMAKE_PREFIX_PATH={prefix}", f"-DVRRL_CONSUMER_WANTS={newer}",
                             expect_failure=True)
    check("compatible with requested version" in " ".join(refused.split()),
          f"find_package(vrrl {newer}) refuses vrrl {version}")
    print(cmake_consumer("cmake-pkg-config", "-DVRRL_CONSUMER_PKG_CONFIG=ON", env=pkg_env),
          "(CMake pkg_check_modules IMPORTED_TARGET)")

    # The CLI, its man pages and completion (when this build has the CLI).
    vrrl = os.path.join(prefix, "bin", "vrrl")
    if not os.path.exists(vrrl):
        print("skipped: man pages and completion (this build has no vrrl CLI: -Dtools=disabled)")
        return
    check(run(vrrl, "--version", env=env).stdout.startswith(f"vrrl {version} "), f"vrrl --version says {version}")
    commands = commands_of(vrrl, env)
    mandir = os.path.join(prefix, option_value(build_root, "mandir"))
    pages = ["vrrl"] + [f"vrrl-{command}" for command in commands]
    missing = [page for page in pages if not os.path.isfile(os.path.join(mandir, "man1", page + ".1"))]
    if missing:
        fail(f"no man page for {', '.join(missing)} in {mandir}/man1. Fix: install help2man (scripts/install-deps) and "
             f"reconfigure, and list every command of `vrrl --help` in tools/vrrl/man/meson.build")
    man_env = dict(env, MANPATH=mandir, MANWIDTH="100", MANPAGER="cat", PAGER="cat")
    rendered = run("man", "vrrl", env=man_env).stdout
    # man justifies the NAME line, so the spaces around the dash vary.
    check(re.search(r"^\s*vrrl\s+-\s", rendered, re.MULTILINE) is not None and all(command in rendered for command in commands) and "SEE ALSO" in rendered,
          f"`man vrrl` renders, with every command ({', '.join(commands)})")
    for page in pages[1:]:
        run("man", page, env=man_env)
        run("man", "-l", os.path.join(mandir, "man1", page + ".1"), env=man_env)
    check(True, f"`man vrrl-COMMAND` and `man -l` render all {len(pages) - 1} command pages")

    completion = os.path.join(prefix, option_value(build_root, "datadir"), "bash-completion", "completions", "vrrl")
    script = f"""
source '{completion}'
complete -p vrrl >/dev/null || exit 3
complete_words() {{ COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _vrrl; echo "${{COMPREPLY[*]}}"; }}
complete_words vrrl ''
complete_words vrrl i
complete_words vrrl dump --f
complete_words vrrl dump --format ''
complete_words vrrl --v
"""
    lines = run("bash", "--norc", "--noprofile", "-c", script, env=env).stdout.splitlines()
    check(lines[0].split() == commands, "bash completion of `vrrl <TAB>` is the command list", f"got {lines[0]}")
    check(lines[1].split() == [c for c in commands if c.startswith("i")], f"`vrrl i<TAB>` gives {lines[1]}")
    check(sorted(lines[2].split()) == ["--failed", "--format", "--from"],
          f"`vrrl dump --f<TAB>` gives --failed --format --from (option groups too): {lines[2]}")
    check(lines[3].split() == ["jsonl", "csv", "table"], f"`vrrl dump --format <TAB>` gives {lines[3]}")
    check(lines[4].split() == ["--version"], f"`vrrl --v<TAB>` gives {lines[4]}")


with tempfile.TemporaryDirectory() as work:
    meson_parent(work)
    installed_package(work)
