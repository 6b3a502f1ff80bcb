"""`make audit`: known vulnerabilities in this virtualenv's packages (pip-audit), and
never a silent pass.

pip-audit prints "No known vulnerabilities found" and exits 0 even when it could audit
nothing: a package the vulnerability service does not answer for is skipped, and a
PyPI mirror that serves no per-release JSON makes it skip them all. Here every package
must be checked: a service that cannot be reached, or that checked none of the
packages, is said plainly and fails (exit 2); packages left unchecked fail too (exit 3);
known vulnerabilities fail with their ids and fixed versions (exit 1).

Extra arguments go to pip-audit, e.g. `make audit AUDIT_ARGS="-s osv"`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

UNREACHABLE = ("ConnectionError", "NameResolution", "Max retries", "timed out", "Timeout",
               "ServiceError", "SSLError", "Temporary failure")


def _say(line: str) -> None:
    print(f"audit: {line}", file=sys.stderr)


def _no_audit(reason: str) -> int:
    _say(f"could not reach the vulnerability database: {reason}")
    _say("nothing was audited: this is NOT a pass")
    return 2


def _report(dependencies: list[dict[str, Any]]) -> int:
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if skipped and not audited:
        return _no_audit(f"it answered for none of the {len(skipped)} installed packages "
                         f"(e.g. {skipped[0]['skip_reason']})")
    found = 0
    for dependency in audited:
        for vuln in dependency.get("vulns", []):
            found += 1
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            print(f"{dependency['name']} {dependency['version']}: {vuln['id']} "
                  f"(fixed in {fixed})")
    for dependency in skipped:
        _say(f"not checked: {dependency['skip_reason']}")
    if found:
        _say(f"{found} known vulnerabilities in {len(audited)} packages")
        return 1
    if skipped:
        _say(f"{len(skipped)} of {len(dependencies)} packages could not be checked")
        return 3
    print(f"audit: no known vulnerabilities in {len(audited)} packages")
    return 0


def main(args: list[str]) -> int:
    command = [sys.executable, "-m", "pip_audit", "--skip-editable", "--format", "json",
               "--progress-spinner", "off", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["pip-audit printed nothing"])[-1]
        if any(word in done.stderr for word in UNREACHABLE):
            return _no_audit(last)
        _say(f"pip-audit failed (exit {done.returncode}): {last}")
        return done.returncode or 1
    return _report(report.get("dependencies", []))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
