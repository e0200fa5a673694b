#!/usr/bin/env bash
# Prints the graph of Latchkey's own modules as Mermaid, read from Package.swift (swift package dump-package),
# for docs/architecture.md. An edge A --> B means A imports B. Test targets are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
swift package dump-package 2>/dev/null | python3 -c '
import json, sys
package = json.load(sys.stdin)
print("```mermaid")
print("graph TD")
for target in package["targets"]:
    if target["type"] == "test" or target["name"] == "LatchkeyTestSupport":
        continue
    for dependency in target.get("dependencies", []):
        name = (dependency.get("byName") or dependency.get("target") or [None])[0]
        if name and (name.startswith("Latchkey") or name == "CCurl"):
            print("    " + target["name"] + " --> " + name)
print("```")
'
