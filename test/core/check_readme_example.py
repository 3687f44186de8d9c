#!/usr/bin/env python3
"""The README's usage example must be examples/readme_example.cpp verbatim,
and that program must run and print the record it appended.

usage: check_readme_example.py README.md examples/readme_example.cpp BINARY
"""
import subprocess
import sys
import tempfile

readme_path, source_path, binary = sys.argv[1:4]
readme = open(readme_path, encoding="utf-8").read()
source = open(source_path, encoding="utf-8").read()
if "```cpp\n" + source + "```" not in readme:
    sys.exit(f"README.md does not contain {source_path} verbatim in a ```cpp block. "
             "Fix: paste the file's current contents into the README's usage example.")
if len(source.strip().splitlines()) > 10:
    sys.exit(f"{source_path} is longer than 10 lines; the README promises a 10-line example.")
with tempfile.TemporaryDirectory() as work:
    out = subprocess.run([binary], cwd=work, capture_output=True, text=True, timeout=60)
    if out.returncode != 0 or out.stdout != "tenant 7 opcode 42 epoch 1\n":
        sys.exit(f"readme_example failed: exit {out.returncode}, stdout {out.stdout!r}, stderr {out.stderr!r}")
print("README example: verbatim, compiles, runs")
