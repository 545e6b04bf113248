#!/usr/bin/env python3
"""Sums the gtest results of the last `meson test` run in each build dir.

Prints how many KVM tests ran and were skipped (a host without /dev/kvm
must never pass silently), then one closing line "N passed, N failed,
N skipped". Exits non-zero when a test failed or no test ran.
"""
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def gtest_counts(xml_path):
    passed = failed = skipped = 0
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        if case.get("result") == "skipped" or case.find("skipped") is not None:
            skipped += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.get("status", "run") == "run":
            passed += 1
    return passed, failed, skipped


def main(build_dirs):
    total = [0, 0, 0]
    for build in map(Path, build_dirs):
        log = build / "meson-logs" / "testlog.json"
        if not log.exists():
            print(f"test summary: {log} is missing")
            return 1
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            name = entry["name"].split("/")[-1].strip()
            xml = build / f"{name}.xml"
            if xml.exists():
                counts = gtest_counts(xml)
            else:  # a crash before gtest wrote its report
                counts = (0, 1, 0) if entry["result"] not in ("OK", "SKIP") else (1, 0, 0)
            if entry["result"] not in ("OK", "SKIP") and counts[1] == 0:
                counts = (counts[0], 1, counts[2])
            if name == "kvm_tests":
                print(f"KVM tests ({build}): {counts[0] + counts[1]} ran, {counts[2]} skipped")
            for i in range(3):
                total[i] += counts[i]
    print(f"{total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] or total[0] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
