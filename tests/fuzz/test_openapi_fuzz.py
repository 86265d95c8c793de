"""Fuzz every operation of the published OpenAPI document (`/api/v1/openapi.json`) with
schemathesis, as a customer, an agent and an admin, against the running system.

Each role's run has all of schemathesis' checks (server errors, status codes, content types,
headers and response bodies against the document, schema-valid requests accepted and invalid
ones refused, 405 with `Allow` for undeclared methods, missing auth refused) over its phases
(the document's examples, coverage of each parameter's edges, random fuzzing, and stateful
sequences along the links schemathesis infers from the responses). It is bounded: a few
examples per operation and a time budget per role (FUZZ_SECONDS, default 50).

The tier fails on any 5xx, on schemathesis errors, and on any conformance failure that
`allowed.yaml` does not list with its reason. Runs are reproducible: FUZZ_SEED (default a fixed
seed) is printed with every failure; set it to explore other inputs.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
import requests
import yaml

from deploy import demo

HERE = pathlib.Path(__file__).parent
ST = pathlib.Path(sys.executable).with_name("st")
SECONDS = int(os.environ.get("FUZZ_SECONDS", "50"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("FUZZ_SEED", "20261203"))
ROLES = {"customer": demo.CUSTOMERS[0], "agent": demo.AGENT, "admin": demo.ADMIN}
NEVER_ALLOWED = {"ST101"}  # a server error (5xx) is a defect, whatever the allow-list says


@dataclasses.dataclass
class Failure:
    operation: str  # "POST /api/v1/ops/faq", as the document names it
    code: str  # schemathesis' failure code, e.g. ST202
    text: str  # the failure as schemathesis tells it (the answer, a curl to reproduce)

    def __str__(self) -> str:
        return f"{self.code} {self.operation}\n{self.text.strip()}"


def allow_list() -> list[dict]:
    entries = yaml.safe_load((HERE / "allowed.yaml").read_text()) or []
    for entry in entries:
        assert {"operation", "code", "reason"} <= set(entry), entry
        assert entry["code"] not in NEVER_ALLOWED, entry
        assert len(entry["reason"].strip()) > 20, f"say why: {entry}"
    return entries


def allowed(failure: Failure, role: str, entries: list[dict]) -> bool:
    return any(entry["code"] == failure.code
               and re.fullmatch(entry["operation"], failure.operation)
               and role in entry.get("roles", ROLES)
               and re.search(entry.get("match", ""), failure.text, re.S)
               for entry in entries)


# each role's requests come from its own client address (the stack trusts 127.0.0.1 as a
# proxy): the fuzzer's wrong logins as one role must not lock the next role's address out
ADDRESSES = {"customer": "203.0.113.11", "agent": "203.0.113.12", "admin": "203.0.113.13"}


def config(role: str, directory: pathlib.Path) -> pathlib.Path:
    """schemathesis' configuration for one role: log in (again after a 401: the fuzzer may well
    call /auth/logout with its own token) and send the bearer token."""
    login = ROLES[role]
    path = directory / f"schemathesis-{role}.toml"
    path.write_text(
        f'headers = {{ "X-Forwarded-For" = "{ADDRESSES[role]}" }}\n\n'
        # no crash cache in the work tree: each run is its seed's alone
        "[cache]\nenabled = false\n\n"
        "[auth.dynamic.openapi.bearer]\n"
        'path = "/api/v1/auth/login"\nmethod = "post"\n'
        f'payload = {{ email = "{login["email"]}", password = "{login["password"]}" }}\n'
        'extract_selector = "/token"\n')
    return path


def operation_of(block: str, templates: list[tuple[re.Pattern, str]]) -> str | None:
    """The document's operation a reproduced request went to: the last curl line of the block
    (a stateful failure reproduces the whole chain; its last request is the one that failed)."""
    found = re.findall(r"curl -X (\w+) .*?'?(https?://[^\s']+)'?\s*$", block, re.M)
    if not found:
        return None
    method, url = found[-1]
    if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        return None  # an undeclared method (OPTIONS, TRACE…): the case names the operation
    path = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
    for pattern, name in templates:
        if pattern.fullmatch(path):
            return f"{method} {name}"
    return None


def failures_in(junit: pathlib.Path, templates) -> list[Failure]:
    found = []
    for case in ET.parse(junit).iter("testcase"):  # noqa: S314 - our own tool's report
        for outcome in case:
            if outcome.tag not in ("failure", "error"):
                continue
            text = outcome.text or outcome.get("message") or ""
            if outcome.tag == "error":
                found.append(Failure(case.get("name"), "ERROR", text))
                continue
            for block in re.split(r"^\d+\. Test Case ID: ", text, flags=re.M)[1:]:
                # the request that failed, where the block reproduces it (a stateful chain
                # is named after its first step)
                operation = operation_of(block, templates) or case.get("name")
                for code in re.findall(r"^- (ST\d+) ", block, re.M):
                    found.append(Failure(operation, code, block))
    return found


@pytest.fixture(scope="module")
def document(stack):
    return requests.get(f"{stack.url}/api/v1/openapi.json", timeout=10).json()


@pytest.fixture(scope="module")
def templates(document):
    # literal paths first (/ops/routing-rules/default before /ops/routing-rules/{rule_id})
    return [(re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path)), path)
            for path in sorted(document["paths"], key=lambda p: (p.count("{"), -len(p)))]


@pytest.mark.timeout(SECONDS + 120)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_operation_conforms_to_the_document(stack, templates, role, tmp_path):
    # FUZZ_REPORT_DIR keeps each role's JUnit report (schemathesis' own, with a curl per failure)
    reports = pathlib.Path(os.environ.get("FUZZ_REPORT_DIR") or tmp_path) / role
    started = time.monotonic()
    run = subprocess.run(
        [str(ST), "--config-file", str(config(role, tmp_path)), "run",
         f"{stack.url}/api/v1/openapi.json", "--checks", "all",
         "--max-examples", str(EXAMPLES), "--max-time", str(SECONDS), "--seed", str(SEED),
         "--workers", "2", "--request-timeout", "10", "--generation-database", "none",
         "--no-color", "--report", "junit", "--report-dir", str(reports)],
        capture_output=True, text=True, timeout=SECONDS + 90, check=False)
    took = time.monotonic() - started
    summary = run.stdout[run.stdout.find("SUMMARY"):]
    print(f"{role}: {took:.0f} s, seed {SEED}\n{summary}")
    junits = list(reports.glob("junit*.xml"))
    assert junits, f"schemathesis wrote no report (exit {run.returncode}):\n{run.stdout[-3000:]}" \
                   f"\n{run.stderr[-3000:]}"
    entries = allow_list()
    failures = failures_in(junits[0], templates)
    refused = [f for f in failures if not allowed(f, role, entries)]
    assert not refused, (
        f"{len(refused)} failure(s) as {role} (seed {SEED}) that tests/fuzz/allowed.yaml does "
        f"not list:\n\n" + "\n\n".join(map(str, refused)))
