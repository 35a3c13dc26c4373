# -*- coding: utf-8 -*-
"""Helper of Tests/Conformance/autobahn.sh: writes the fuzzingclient spec and judges its report.

Runs with the Autobahn venv's Python 2.7 (it asks autobahntestsuite which cases a spec selects),
and stays valid Python 3 for the parts that do not need it.

    reactor_autobahn.py spec TEMPLATE PORT OUTDIR   print the spec: TEMPLATE with url and outdir set
    reactor_autobahn.py report SPEC COUNTS_FILE     judge OUTDIR/index.json; write "passed failed"

(Not named autobahn.py: that would shadow the `autobahn` package that autobahntestsuite imports.)

Verdict of a case (Autobahn's own report colours the same way):
  behavior       OK, NON-STRICT, INFORMATIONAL pass; FAILED fails; UNIMPLEMENTED fails too (the
                 issue allows only the first three);
  behaviorClose  OK and INFORMATIONAL pass; WRONG CODE and FAILED BY CLIENT pass but are listed
                 (Autobahn shows them as non-strict); UNCLEAN and FAILED fail;
  a selected case missing from index.json fails (it did not run or wstest stopped early).
Every case that is not OK/OK gets a line: FAILED or "note", the id, both behaviors, the
description and Autobahn's result texts; a failed one also its expected and received events.
"""
from __future__ import print_function

import io
import fnmatch
import json
import os
import sys

PASS_BEHAVIOR = ("OK", "NON-STRICT", "INFORMATIONAL")
PASS_CLOSE = ("OK", "INFORMATIONAL")
LISTED_CLOSE = ("WRONG CODE", "FAILED BY CLIENT")  # pass, with a line (Autobahn: non-strict)
ORDER = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")
CLOSE_ORDER = ("OK", "INFORMATIONAL", "WRONG CODE", "FAILED BY CLIENT", "UNCLEAN", "FAILED")


def load_json(path):
    with io.open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def id_key(case_id):
    return tuple(int(x) for x in case_id.split("."))


def selected_cases(spec):
    """The case ids the spec selects, as wstest expands them (None if autobahntestsuite is absent)."""
    try:
        from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseBasename
        from autobahntestsuite.caseset import CaseSet
    except Exception as e:  # only when run outside the venv
        print("autobahn: cannot list the selected cases (%s); judging index.json alone" % e)
        return None
    case_set = CaseSet("fuzzing", CaseBasename, Cases, CaseCategories, CaseSubCategories)
    return case_set.parseSpecCases(spec)


def plain(text, limit):
    """The description's text before its first HTML tag, whitespace coalesced, cut to limit."""
    text = " ".join((text or "").split("<")[0].split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short(obj, limit=300):
    text = json.dumps(obj, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cmd_spec(template, port, outdir):
    spec = load_json(template)
    port = int(port)
    for server in spec["servers"]:
        server["url"] = server["url"].replace("PORT", str(port))
    spec["outdir"] = outdir
    print(json.dumps(spec, indent=2, sort_keys=True))
    return 0


def cmd_report(spec_path, counts_path):
    spec = load_json(spec_path)
    outdir = spec["outdir"]
    index_path = os.path.join(outdir, "index.json")
    expected = selected_cases(spec)

    def write_counts(passed, failed):
        with open(counts_path, "w") as f:
            f.write("%d %d\n" % (passed, failed))

    if not os.path.exists(index_path):
        print("autobahn: no report at %s (wstest did not finish)" % index_path)
        write_counts(0, len(expected) if expected else 1)
        return 1

    index = load_json(index_path)
    agents = [s["agent"] for s in spec["servers"]]
    passed = failed = missing = 0
    behavior_counts = dict((k, 0) for k in ORDER)
    close_counts = dict((k, 0) for k in CLOSE_ORDER)
    lines = []

    for agent in agents:
        results = index.get(agent, {})
        ids = set(results)
        if expected is not None:
            # What wstest skips for this agent (`exclude-agent-cases`, fnmatch patterns as wstest
            # reads them) is not expected of it.
            skipped = spec.get("exclude-agent-cases", {}).get(agent, [])
            ids |= set(c for c in expected if not any(fnmatch.fnmatch(c, p) for p in skipped))
        for case_id in sorted(ids, key=id_key):
            entry = results.get(case_id)
            if entry is None:
                failed += 1
                missing += 1
                if missing <= 10:
                    lines.append("FAILED %s: no result in index.json (the case did not run)" % case_id)
                continue
            behavior = entry.get("behavior", "?")
            close = entry.get("behaviorClose", "?")
            behavior_counts[behavior] = behavior_counts.get(behavior, 0) + 1
            close_counts[close] = close_counts.get(close, 0) + 1
            ok = behavior in PASS_BEHAVIOR and (close in PASS_CLOSE or close in LISTED_CLOSE)
            if ok:
                passed += 1
            else:
                failed += 1
            if behavior == "OK" and close == "OK":
                continue
            detail = {}
            report_file = os.path.join(outdir, entry.get("reportfile", ""))
            try:
                detail = load_json(report_file)
            except Exception:
                pass
            line = "%s %s: behavior %s, close %s (code %s): %s -- %s | close: %s" % (
                "note" if ok else "FAILED", case_id, behavior, close, entry.get("remoteCloseCode"),
                plain(detail.get("description", ""), 140), detail.get("result", "?"),
                detail.get("resultClose", "?"))
            if behavior == "UNIMPLEMENTED":
                line += " [UNIMPLEMENTED counts as failed: the issue allows OK, NON-STRICT, INFORMATIONAL]"
            lines.append(line)
            if not ok:
                lines.append("    expected: %s" % short(detail.get("expected")))
                lines.append("    received: %s" % short(detail.get("received")))
                lines.append("    report:   %s" % report_file)

    if missing > 10:
        lines.append("FAILED and %d more cases with no result in index.json" % (missing - 10))
    for line in lines:
        print("autobahn: " + line)
    total = passed + failed
    extra = sorted(k for k in behavior_counts if k not in ORDER)
    extra_close = sorted(k for k in close_counts if k not in CLOSE_ORDER)
    print("autobahn: %d cases%s; behavior: %s; close: %s" % (
        total, " (%d did not run)" % missing if missing else "",
        ", ".join("%s %d" % (k, behavior_counts[k]) for k in list(ORDER) + extra),
        ", ".join("%s %d" % (k, close_counts[k]) for k in list(CLOSE_ORDER) + extra_close if close_counts[k])))
    print("autobahn: HTML report: %s" % os.path.join(outdir, "index.html"))
    write_counts(passed, failed)
    return 1 if failed else 0


def main(argv):
    if len(argv) == 5 and argv[1] == "spec":
        return cmd_spec(argv[2], argv[3], argv[4])
    if len(argv) == 4 and argv[1] == "report":
        return cmd_report(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
