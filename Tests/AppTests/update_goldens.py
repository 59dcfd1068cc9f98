#!/usr/bin/env python3
"""Accepts new golden screens: copies /tmp/cdctop-golden/NAME.txt (written by the golden tests on a
mismatch) to Tests/Fixtures/goldens/NAME.txt, one file per screen. Check the screens by eye first;
`git diff Tests/Fixtures/goldens` then shows what changed. (CDCTOP_UPDATE_GOLDENS=1 swift test ... does
the same from inside the tests.)"""
import glob, os
here = os.path.dirname(os.path.abspath(__file__))
goldens = os.path.join(here, "..", "Fixtures", "goldens")
os.makedirs(goldens, exist_ok=True)
names = []
for f in sorted(glob.glob("/tmp/cdctop-golden/*.txt")):
    text = open(f, encoding="utf-8").read()
    name = os.path.basename(f)
    with open(os.path.join(goldens, name), "w", encoding="utf-8") as out:
        out.write(text if text.endswith("\n") else text + "\n")
    names.append(name[:-4])
print(f"wrote {len(names)} golden screens to {os.path.normpath(goldens)}: {', '.join(names)}")
