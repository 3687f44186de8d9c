#!/usr/bin/env python3
"""Writes one vrrl man page with help2man, from the binary's own --help.

usage: make_man_page.py HELP2MAN VRRL VERSION OUTPUT [COMMAND] [--see-also PAGE...]

Without COMMAND: the page vrrl(1), from `vrrl --help`. With COMMAND: the page
vrrl-COMMAND(1), from `vrrl COMMAND --help`, its NAME line taken from the
command's description in `vrrl --help`, so nothing is written twice.
"""
import argparse
import os
import subprocess
import sys
import tempfile


def commands(vrrl):
    """The command -> description table of `vrrl --help` (its "Subcommands:" section)."""
    help_text = subprocess.run([vrrl, "--help"], capture_output=True, text=True, check=True).stdout
    table, inside = {}, False
    for line in help_text.splitlines():
        if not line.startswith(" "):
            inside = line.strip() == "Subcommands:"
            continue
        if inside and line.strip():
            name, _, description = line.strip().partition(" ")
            table[name] = description.strip().rstrip(".")
    return help_text.splitlines()[0].rstrip("."), table


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("help2man")
    parser.add_argument("vrrl")
    parser.add_argument("version")
    parser.add_argument("output")
    parser.add_argument("command", nargs="?")
    parser.add_argument("--see-also", nargs="*", default=[])
    args = parser.parse_args()

    summary, table = commands(args.vrrl)
    if args.command is None:
        program, name, help_option = "vrrl", summary, "--help"
    elif args.command in table:
        program, name, help_option = f"vrrl-{args.command}", table[args.command], f"{args.command} --help"
    else:
        sys.exit(f"make_man_page.py: `vrrl --help` lists no command `{args.command}` (it lists "
                 f"{', '.join(table)}). Fix: update the command list in tools/vrrl/man/meson.build.")

    see_also = ",\n".join(f".BR {page} (1)" for page in args.see_also)
    with tempfile.NamedTemporaryFile("w", suffix=".h2m", delete=False) as include:
        include.write(f"[SEE ALSO]\n{see_also}\n")
    try:
        subprocess.run([args.help2man, "--no-info", "--section=1", f"--name={name}", f"--help-option={help_option}",
                        f"--version-string={program} {args.version}", f"--include={include.name}",
                        f"--output={args.output}", args.vrrl], check=True)
    finally:
        os.unlink(include.name)


if __name__ == "__main__":
    main()
