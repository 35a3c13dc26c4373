"""Prints `passed failed` from a JUnit XML report (shared by every pytest suite here):
skips and xfails are neither, and are listed on stderr; a missing report counts nothing."""
import os
import sys
import xml.etree.ElementTree as ET

path = sys.argv[1]
if not os.path.exists(path):
    print("0 0")
    sys.exit()
passed = failed = 0
notes = {}  # (kind, reason) -> test names
for case in ET.parse(path).getroot().iter("testcase"):
    name = case.get("classname", "") + "::" + case.get("name", "")
    tags = {child.tag for child in case}
    if "failure" in tags or "error" in tags:
        failed += 1
    elif "skipped" in tags:
        skipped = case.find("skipped")
        kind = "known bug (xfail)" if skipped.get("type") == "pytest.xfail" else "skipped"
        notes.setdefault((kind, skipped.get("message", "")), []).append(name)
    else:
        passed += 1
for (kind, reason), names in notes.items():
    print(f"note: {len(names)} {kind}: {reason}", file=sys.stderr)
    for name in names:
        print(f"note:   {name}", file=sys.stderr)
print(passed, failed)
