#!/usr/bin/python3
"""Checks the shipped CI examples (docs/ci/): lints their structure, then runs the very shard
commands they contain on this machine, against a small scenario folder, and merges the shard
reports as the workflow does. Usage: check_ci_examples.py FAULTLINE_BIN SOURCE_DIR"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

faultline, source = sys.argv[1], sys.argv[2]
scenarios = os.path.join(source, "tests", "ci-examples", "scenarios")
expected = sorted(
    open(os.path.join(scenarios, f)).readline().split('"')[1] for f in os.listdir(scenarios) if f.endswith(".toml")
)
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def run(command, env=None):
    print("$ " + command, flush=True)
    done = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


def shard_names(report_path):
    with open(report_path) as f:
        report = json.load(f)
    check(report["format"] == "faultline-report/1", report_path + ": not a faultline report")
    return [s["name"] for s in report["scenarios"]]


def check_partition(label, reports):
    names = [n for r in reports for n in shard_names(r)]
    check(len(names) == len(set(names)), f"{label}: shards overlap: {names}")
    check(sorted(names) == expected, f"{label}: shards are not complete: {sorted(names)} != {expected}")


work = tempfile.mkdtemp(prefix="faultline-ci-examples-")
try:
    # --- Kubernetes Indexed Job ---
    with open(os.path.join(source, "docs", "ci", "k8s-indexed-job.yaml")) as f:
        job = yaml.safe_load(f)
    spec = job["spec"]
    check(job["apiVersion"] == "batch/v1" and job["kind"] == "Job", "k8s: not a batch/v1 Job")
    check(spec.get("completionMode") == "Indexed", "k8s: completionMode must be Indexed")
    container = spec["template"]["spec"]["containers"][0]
    check(container.get("securityContext", {}).get("privileged") is True, "k8s: the pod must be privileged")
    check(spec["template"]["spec"].get("restartPolicy") == "Never", "k8s: restartPolicy must be Never")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    check("RUN_ID" in env and "$RUN_ID/shard-" in container["args"][0], "k8s: each run needs a reports directory of its own")
    shards = int(env["SHARDS"])
    check(spec["completions"] == shards and spec["parallelism"] == shards, "k8s: completions/parallelism != SHARDS")
    mounts = {m["name"] for m in container.get("volumeMounts", [])}
    check(mounts == {v["name"] for v in spec["template"]["spec"]["volumes"]}, "k8s: volume mounts do not match volumes")
    script = container["args"][0]
    check("$JOB_COMPLETION_INDEX" in script and "--shard" in script, "k8s: the command must pick its shard")
    check('--run-id "$RUN_ID"' in script, "k8s: the shards must name their run, so a merge refuses another run's")
    reports_dir = os.path.join(work, "k8s")
    os.makedirs(reports_dir)
    local = script.replace("faultline run scenarios", f"'{faultline}' run '{scenarios}'").replace("/reports", reports_dir)
    for index in range(shards):
        run_env = dict(os.environ, JOB_COMPLETION_INDEX=str(index), SHARDS=str(shards), SEED=env["SEED"],
                       RUN_ID="run-7")
        check(run(local, run_env) == 0, f"k8s: shard {index} failed")
    check_partition("k8s", [os.path.join(reports_dir, "run-7", f"shard-{i}.json") for i in range(shards)])

    # --- GitHub Actions matrix ---
    with open(os.path.join(source, "docs", "ci", "github-actions.yml")) as f:
        workflow = yaml.safe_load(f)
    shard_job = workflow["jobs"]["shard"]
    matrix = shard_job["strategy"]["matrix"]["shard"]
    check(matrix == list(range(1, len(matrix) + 1)), "gha: the matrix must list shards 1..N")
    steps = [s.get("run", "") for s in shard_job["steps"]]
    shard_cmd = next(s for s in steps if "--shard" in s)
    check(f"/{len(matrix)}" in shard_cmd, "gha: the shard count must match the matrix")
    check("--run-id ${{ github.run_id }}" in shard_cmd, "gha: the shards must name their run, so a merge refuses another run's")
    # Not the attempt: shards that were not re-run keep the first attempt's reports.
    check("run_attempt" not in shard_cmd, "gha: the run id must not change when a failed shard is re-run")
    merge_cmd = next(s.get("run", "") for s in workflow["jobs"]["merge"]["steps"] if "report merge" in s.get("run", ""))
    check(workflow["jobs"]["merge"].get("needs") == "shard", "gha: merge must wait for the shards")
    gha_dir = os.path.join(work, "gha")
    os.makedirs(gha_dir)

    def localize(cmd, shard=None):
        # One pass, so the substituted path (which may itself end in build/faultline) is not
        # replaced again.
        cmd = re.sub(r"(?:sudo )?(?<![\w/])build/faultline", lambda _: f"'{faultline}'", cmd)
        cmd = cmd.replace("run scenarios", f"run '{scenarios}'").replace("${{ github.run_id }}", "7")
        if shard is not None:
            cmd = cmd.replace("${{ matrix.shard }}", str(shard))
        return f"cd '{gha_dir}' && {cmd}"

    for shard in matrix:
        check(run(localize(shard_cmd, shard)) == 0, f"gha: shard {shard} failed")
    check_partition("gha", [os.path.join(gha_dir, f"shard-{s}.json") for s in matrix])
    check(run(localize(merge_cmd)) == 0, "gha: merging the shard reports failed")
    with open(os.path.join(gha_dir, "merged.json")) as f:
        merged = json.load(f)
    check(merged["summary"]["passed"] == len(expected), f"gha: merged summary {merged['summary']}")
    for suffix in ("xml", "html"):
        check(os.path.exists(os.path.join(gha_dir, "merged." + suffix)), f"gha: merged.{suffix} missing")
finally:
    shutil.rmtree(work, ignore_errors=True)

for f in failures:
    print("FAIL: " + f)
print("CI examples: " + ("FAILED" if failures else "ok"))
sys.exit(1 if failures else 0)
