"""The OpenAPI document against a live Latchkey, with schemathesis (issue 15 gap 7): every operation, with the admin
key and with an agent's key, in examples, coverage, fuzzing and stateful phases, a bounded number of examples each.
The run must find no server error (5xx), no response that violates its schema, no undocumented status code and no
content type the document does not name.

`LATCHKEY_SCHEMATHESIS_SEED` picks another seed and `LATCHKEY_SCHEMATHESIS_EXAMPLES` more examples, for a longer run
by hand; `make test` uses the fixed ones below so a failure here is one anyone can replay."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, World, start_world

DOCUMENT = ROOT / "docs" / "openapi.yaml"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
SEED = os.environ.get("LATCHKEY_SCHEMATHESIS_SEED", "7")
EXAMPLES = os.environ.get("LATCHKEY_SCHEMATHESIS_EXAMPLES", "15")


@pytest.fixture(scope="module")
def target(workdir):
    """A Latchkey of its own, with the Authlib provider behind it: the run creates, grants and revokes at random."""
    lk, peer = start_world(workdir, "contract")
    world = World(lk, peer)
    org, agent_key = world.org_with_agent(apps=("authlib-basic",))
    yield world, org, agent_key
    lk.stop()
    peer.stop()


def schemathesis(lk, key: str, *extra: str) -> tuple[int, str]:
    run = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", str(DOCUMENT), "--url", lk.url, "-H", f"Authorization: Bearer {key}",
         "--checks", CHECKS, "--max-examples", EXAMPLES, "--seed", SEED, "--phases", "examples,coverage,fuzzing,stateful",
         "--workers", "1", "--no-color", *extra],
        capture_output=True, text=True, timeout=1800)
    return run.returncode, run.stdout + run.stderr


def summary(output: str) -> str:
    """The run's failures (each with its `curl` to replay it), then its closing lines."""
    start = output.find("FAILURES")
    if start < 0:
        start = output.find("SUMMARY")
    return output[start:] if start >= 0 else output[-3000:]


@pytest.mark.parametrize("caller", ["agent", "admin"])
def test_the_document_holds_against_a_live_latchkey(target, caller, capsys, output_dir):
    world, _, agent_key = target
    key = agent_key if caller == "agent" else world.lk.admin_key
    code, output = schemathesis(world.lk, key)
    (output_dir / f"schemathesis-{caller}.txt").write_text(output)
    # The summary shows in `make test`'s output, passing or not (operations, phases, cases generated, failures).
    with capsys.disabled():
        print(f"\nschemathesis with the {caller} key (seed {SEED}, {EXAMPLES} examples per operation):\n{summary(output)}")
    assert code == 0, summary(output)
    cases = re.search(r"(\d+) generated", output)
    assert cases and int(cases.group(1)) > 500, "schemathesis generated fewer cases than expected:\n" + summary(output)
    for failure in ("Server error", "Undocumented status code", "Response violates schema", "Undocumented Content-Type"):
        assert failure not in output, summary(output)
