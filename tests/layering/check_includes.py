#!/usr/bin/python3
"""The include graph stays one-way: a module includes only its own headers and those of the
modules it links (DEPS of its faultline_module line in CMakeLists.txt, transitively).

usage: check_includes.py SOURCE_DIR         check the tree; exit 1 listing every upward include
       check_includes.py --self-test SOURCE_DIR
                                           copy the tree, add one upward include, expect exit 1
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Where each module's sources live, by the first path component of an include.
FOLDERS = {"faultline_common": "harness/common", "faultline_scenario": "harness/scenario",
           "faultline_cgroup": "harness/cgroup", "faultline_supervisor": "harness/supervisor",
           "faultline_syscall": "harness/syscall", "faultline_net": "harness/net", "faultline_timeline": "harness/timeline",
           "faultline_injectors": "injectors", "faultline_reports": "reports",
           "faultline_runner": "harness/runner"}


def module_deps(cmake_text):
    deps = {}
    for m in re.finditer(r"faultline_module\((\w+)\s+SOURCES[^)]*?DEPS([^)]*)\)", cmake_text, re.S):
        deps[m.group(1)] = {d for d in m.group(2).split() if d.startswith("faultline_")}
    return deps


def closure(deps, name, seen=None):
    seen = set() if seen is None else seen
    for d in deps.get(name, ()):
        if d not in seen:
            seen.add(d)
            closure(deps, d, seen)
    return seen


def include_key(folder):
    # "harness/cgroup" is included as "cgroup/...", "injectors" as "injectors/...".
    return folder.split("/")[-1]


def check(root):
    deps = module_deps(open(os.path.join(root, "CMakeLists.txt")).read())
    missing = [m for m in FOLDERS if m not in deps and m != "faultline_common"]
    if missing:
        print("no faultline_module line found for: " + ", ".join(missing))
        return 1
    by_key = {include_key(f): m for m, f in FOLDERS.items()}
    problems = []
    for module, folder in FOLDERS.items():
        allowed = closure(deps, module) | {module}
        base = os.path.join(root, folder)
        for name in sorted(os.listdir(base)):
            if not name.endswith((".h", ".cpp")):
                continue
            path = os.path.join(base, name)
            for number, line in enumerate(open(path, errors="replace"), 1):
                m = re.match(r'\s*#\s*include\s+"([a-z_]+)/', line)
                if not m or m.group(1) not in by_key:
                    continue
                target = by_key[m.group(1)]
                if target not in allowed:
                    problems.append(f"{folder}/{name}:{number}: {module} includes {line.strip()} "
                                    f"from {target}, which it does not link")
    for p in problems:
        print(p)
    if not problems:
        print(f"include graph one-way: {len(FOLDERS)} modules, no module includes one above it")
    return 1 if problems else 0


def self_test(root):
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "tree")
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns("build*", ".git"))
        # The cgroup layer must never know the runner: an include that would make it so.
        with open(os.path.join(copy, "harness/cgroup/cgroup.h"), "a") as f:
            f.write('\n#include "runner/run_context.h"\n')
        result = subprocess.run([sys.executable, __file__, copy], capture_output=True, text=True)
        if result.returncode == 1 and "harness/cgroup/cgroup.h" in result.stdout:
            print("self-test: an upward include is caught")
            return 0
        print("self-test FAILED: an upward include was not caught\n" + result.stdout)
        return 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--self-test":
        sys.exit(self_test(sys.argv[2]))
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(check(sys.argv[1]))
