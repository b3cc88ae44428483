"""Say plainly what pip-audit audited: it reports "No known vulnerabilities found" even when it
skipped every package because no vulnerability service answered (this machine's network).

Usage: pip-audit -f json | python .ci/audit.py   (exit 1 only for a known vulnerability)
"""

import json
import sys


def main() -> int:
    try:
        deps = json.load(sys.stdin)["dependencies"]
    except (ValueError, KeyError, TypeError):
        deps = []
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if not audited:
        print(
            f"pip-audit: NOTHING WAS AUDITED ({len(deps)} packages, none checked): no "
            "vulnerability service answered; no vulnerability check ran (RELIABILITY.md)"
        )
        return 0
    print(
        f"pip-audit: audited {len(audited)} of {len(deps)} packages "
        f"({len(deps) - len(audited)} not audited); {len(vulnerable)} with known vulnerabilities"
    )
    for dep in vulnerable:
        print(f"  {dep['name']} {dep['version']}: " + ", ".join(v["id"] for v in dep["vulns"]))
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
