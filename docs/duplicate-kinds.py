#!/usr/bin/env python3
"""Sorts the pairs `duplicates` lists into kinds, for issue 13's count: migrations, declarations, and code.

Usage: cd Sources && duplicates --most 200 --seconds 120 > /tmp/pairs.txt && python3 ../docs/duplicate-kinds.py /tmp/pairs.txt .

A side is a declaration run when at most two of its lines are anything but declarations (stored properties,
memberwise assignments `self.x = x` or `x = y.z`, type, protocol and init headers, requirement signatures, enum cases,
comments, braces) and at least four are declarations. A pair is of that kind when both sides are. The rest is code,
which is what a clean-up should share; the migrations of the two SQL dialects are counted apart.
"""
import os
import re
import sys

DECLARATION = [
    r"^\s*$", r"^\s*//", r"^\s*\}\s*$", r"^\s*\)\s*\{?\s*$",
    r"^\s*(@\w+ )?(public |private |fileprivate |internal )?(static )?(let|var) \w+: [^=]+(= .+)?$",
    r"^\s*(public |private )?(static )?(let|var) \w+ = \w+\(\)$",
    r"^\s*self\.\w+ = [\w.]+$", r"^\s*\w+ = [\w.?]+( \?\? [\w.?\"]+)?$",
    r"^\s*(public |private )?(final )?(struct|class|enum|actor|extension) [\w<>:, &]+\{$",
    r"^\s*(public |private )?init\(.*$", r"^\s*(public )?func register\(on .*\{$", r"^\s*case \w+(\(.*\))?$",
    r"^\s*(public )?typealias ", r"^\s*[\w]+: [\w\[\]<>?, ]+,?$", r"^\s*\w+: [^,]+(, \w+: [^,]+)*,?\s*$",
    r"^\s*(public )?(static )?func \w+\(.*\)( async)?( throws(\(\w+\))?)? (-> .+ )?\{$",
]


def declaration(line: str) -> bool:
    return any(re.match(p, line) for p in DECLARATION)


def declaration_run(lines: list[str]) -> bool:
    kept = [l for l in lines if declaration(l)]
    return len(lines) - len(kept) <= 2 and sum(1 for l in kept if l.strip() and not l.strip().startswith("//")) >= 4


def main(pairs_file: str, root: str) -> None:
    kinds = {"migrations": [], "declarations": [], "code": []}
    for row in open(pairs_file):
        m = re.match(r"^(D\d+) (\S+):(\d+)-(\d+) ~ (\S+):(\d+)-(\d+)(.*)$", row.strip())
        if not m:
            continue
        sides = [(m.group(2), m.group(3), m.group(4)), (m.group(5), m.group(6), m.group(7))]
        if all("Migrations" in f for f, _, _ in sides):
            kinds["migrations"].append(row.strip())
            continue
        runs = [open(os.path.join(root, f)).read().split("\n")[int(a) - 1:int(b)] for f, a, b in sides]
        kinds["declarations" if all(declaration_run(r) for r in runs) else "code"].append(row.strip())
    print(" ".join(f"{k}={len(v)}" for k, v in kinds.items()))
    for row in kinds["code"]:
        print(row)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
