"""Counts for `make test`: one JSON summary per interpreter, and the closing table.

    report.py --python 3.11 --build ok --pytest-status ok --ctest-status FAILED \
        --junit build/reports/pytest-3.11.xml --testlog build/cmocka-3.11/meson-logs/testlog.json \
        --seconds 93 > build/reports/summary-3.11.json
    report.py --total build/reports/summary-3.10.json build/reports/summary-3.11.json ...

The first form reads pytest's JUnit XML and meson's testlog.json (one JSON object per test);
the cmocka case counts come from the "[  PASSED  ] N test(s)." lines each test binary prints.
The second prints one line per interpreter and a closing "total: N passed, N failed, N skipped"
line, and exits 1 when anything failed or an interpreter's summary is missing.
Standard library only: it runs under whichever interpreter make found first.
"""

import argparse
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

CMOCKA_PASSED = re.compile(r"^\[  PASSED  \] (\d+) test\(s\)\.", re.M)
CMOCKA_FAILED = re.compile(r"^\[  FAILED  \] (\d+) test\(s\)", re.M)
CMOCKA_SKIPPED = re.compile(r"^\[  SKIPPED \] (\d+) test\(s\)", re.M)
MESON_GOOD = {"OK", "EXPECTEDFAIL"}


def pytest_counts(path):
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    if not path or not os.path.exists(path):
        return None
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        tests = int(suite.get("tests", 0))
        failed = int(suite.get("failures", 0))
        errors = int(suite.get("errors", 0))
        skipped = int(suite.get("skipped", 0))
        counts["failed"] += failed
        counts["errors"] += errors
        counts["skipped"] += skipped
        counts["passed"] += tests - failed - errors - skipped
    return counts


def meson_counts(path):
    if not path or not os.path.exists(path):
        return None
    counts = {"tests_ok": 0, "tests_failed": 0, "tests_skipped": 0,
              "cases_passed": 0, "cases_failed": 0, "cases_skipped": 0, "failed_names": []}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            test = json.loads(line)
            result = test.get("result", "")
            out = (test.get("stdout") or "") + "\n" + (test.get("stderr") or "")
            passed = sum(int(n) for n in CMOCKA_PASSED.findall(out))
            failed = sum(int(n) for n in CMOCKA_FAILED.findall(out))
            skipped = sum(int(n) for n in CMOCKA_SKIPPED.findall(out))
            if result == "SKIP":
                counts["tests_skipped"] += 1
                counts["cases_skipped"] += max(skipped, 1)
                continue
            if result in MESON_GOOD:
                counts["tests_ok"] += 1
                if not (passed or failed or skipped):
                    passed = 1  # not a cmocka binary: the test itself is the case
            else:
                counts["tests_failed"] += 1
                counts["failed_names"].append("%s (%s)" % (test.get("name", "?"), result))
                if not failed:
                    failed = 1  # crashed or timed out before cmocka's summary
            counts["cases_passed"] += passed
            counts["cases_failed"] += failed
            counts["cases_skipped"] += skipped
    return counts


def summarize(args):
    summary = {
        "python": args.python,
        "interpreter": args.version,
        "build": args.build,
        "pytest_status": args.pytest_status,
        "ctest_status": args.ctest_status,
        "pytest": pytest_counts(args.junit),
        "meson": meson_counts(args.testlog),
        "seconds": args.seconds,
    }
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")


def line_and_totals(s):
    passed = failed = skipped = 0
    parts = []
    if s["build"] == "missing":
        print("CPython %-7s FAILED        no interpreter found" % s["python"])
        return None, 0, 1, 0
    if s["build"] != "ok":
        parts.append("build FAILED")
        failed += 1
    p = s["pytest"]
    if p is None:
        parts.append("pytest: no report (%s)" % s["pytest_status"])
        if s["pytest_status"] != "skipped" or s["build"] == "ok":
            failed += 1
    else:
        pf = p["failed"] + p["errors"]
        parts.append("pytest: %d passed, %d failed, %d skipped" % (p["passed"], pf, p["skipped"]))
        passed += p["passed"]
        skipped += p["skipped"]
        failed += pf
        if s["pytest_status"] != "ok" and pf == 0:
            failed += 1  # pytest itself failed (collection error, crash, no tests)
            parts[-1] += " (pytest exited with an error)"
    m = s["meson"]
    if m is None:
        parts.append("meson test: no results (%s)" % s["ctest_status"])
        failed += 1
    else:
        parts.append("meson test: %d ok, %d failed, %d skipped (cmocka cases: %d passed, %d failed)"
                     % (m["tests_ok"], m["tests_failed"], m["tests_skipped"],
                        m["cases_passed"], m["cases_failed"]))
        passed += m["cases_passed"]
        failed += m["cases_failed"]
        skipped += m["cases_skipped"]
        if s["ctest_status"] != "ok" and m["cases_failed"] == 0:
            failed += 1
            parts[-1] += " (meson exited with an error)"
        if m["failed_names"]:
            parts[-1] += "; failed: " + ", ".join(m["failed_names"])
    verdict = "ok" if failed == 0 else "FAILED"
    text = "CPython %-7s %-6s %4ss  %s" % (s.get("interpreter") or s["python"], verdict,
                                          s.get("seconds", "?"), " | ".join(parts))
    return text, passed, failed, skipped


def total(paths):
    passed = failed = skipped = 0
    for path in paths:
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                s = json.loads(f.read())
        except (OSError, ValueError) as e:
            print("%s: no summary (%s)" % (name, e))
            failed += 1
            continue
        text, p, f_, sk = line_and_totals(s)
        if text:
            print(text)
        passed += p
        failed += f_
        skipped += sk
    print()
    print("total: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or not paths else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--total", nargs="*")
    ap.add_argument("--python")
    ap.add_argument("--version", default="", help="the interpreter's version; empty: none found")
    ap.add_argument("--build", default="ok")
    ap.add_argument("--pytest-status", default="ok")
    ap.add_argument("--ctest-status", default="ok")
    ap.add_argument("--junit")
    ap.add_argument("--testlog")
    ap.add_argument("--seconds", type=int)
    args = ap.parse_args()
    if args.total is not None:
        return total(args.total)
    summarize(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
