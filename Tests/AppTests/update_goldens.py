#!/usr/bin/env python3
"""Regenerates GoldenScreens.swift from /tmp/cdctop-golden/*.txt (written by ViewGoldenTests on a mismatch)."""
import glob, os
here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "GoldenScreens.swift")
screens = {}
if os.path.exists(path):
    import re
    text = open(path).read()
    for m in re.finditer(r'"([^"]+)": #"""\n(.*?)\n        """#', text, re.S):
        screens[m.group(1)] = "\n".join(l[8:] for l in m.group(2).split("\n"))
for f in sorted(glob.glob("/tmp/cdctop-golden/*.txt")):
    screens[os.path.basename(f)[:-4]] = open(f).read()
out = ["// Golden screens for ViewGoldenTests (fixture and engine snapshots; sizes in the test cases). Regenerate with update_goldens.py.",
       "enum GoldenScreens {", "    static let screens: [String: String] = ["]
for name in sorted(screens):
    out.append(f'        "{name}": #"""')
    out += [("        " + l).rstrip() if l else "" for l in screens[name].split("\n")]
    out.append('        """#,')
out += ["    ]", "}"]
open(path, "w").write("\n".join(out) + "\n")
print(f"wrote {len(screens)} screens to {path}")
