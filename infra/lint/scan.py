"""Runs checkov (pinned in infra/requirements-scan.txt) on template.yaml the way a platform
team scans it before deploying: the CloudFormation framework, every check. The suite fails on
any failed check, on a parsing error, and on a skip without its reason: each `checkov:skip` in a
resource's Metadata must carry a comment saying why the check does not apply.

Usage: scan.py CHECKOV TEMPLATE   (CHECKOV: the checkov executable of .venv-scan)

Offline: `--skip-download` keeps checkov from fetching Prisma Cloud guidelines.
"""

import json
import subprocess
import sys


def main():
    checkov, template = sys.argv[1], sys.argv[2]
    run = subprocess.run(
        [checkov, "--file", template, "--framework", "cloudformation", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(run.stdout + run.stderr)
        sys.exit("checkov did not answer with a JSON report")
    results, summary = report["results"], report["summary"]
    problems = []
    for failed in results["failed_checks"]:
        problems.append(f"FAILED {failed['check_id']} {failed['resource']}: {failed['check_name']}")
    for error in results["parsing_errors"]:
        problems.append(f"PARSING ERROR {error}")
    for skipped in results["skipped_checks"]:
        reason = (skipped["check_result"].get("suppress_comment") or "").strip()
        resource = skipped["resource"].split(".", 1)[-1]
        if not reason:
            problems.append(f"SKIPPED WITHOUT A REASON {skipped['check_id']} {resource}")
        else:
            print(f"  skipped {skipped['check_id']} {resource}: {reason}")
    if summary["resource_count"] == 0:
        problems.append("no resource scanned")
    for problem in problems:
        print(problem)
    print(
        f"checkov {summary['checkov_version']}: {summary['passed']} checks passed, {summary['failed']} failed, "
        f"{summary['skipped']} skipped, {summary['resource_count']} resources"
    )
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
