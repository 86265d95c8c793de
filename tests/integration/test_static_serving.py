"""The portal front end over real HTTP through the gateway (gateway/static_files.py behind
`/` and `/static/<path>`): a hashed script compressed as accepted, its Content-Length the bytes
on the wire, cached for good; the page revalidated (304); an unknown file the API's 404 error.
On a small build of its own (tests/unit/test_static_files.py covers the rules in detail)."""

import gzip
import json
import time

import pytest
import requests

from gateway import service, static_files
from gateway.service import GatewayService
from services.accounts.service import AccountsService
from tests.stack import free_port

SCRIPT = b"export const greeting = 'hello';\n" * 100


@pytest.fixture
def portal(tmp_path, monkeypatch, pg_url, rabbit_config, runner_factory):
    source = tmp_path / "static"
    dist = source / "dist"
    dist.mkdir(parents=True)
    (source / "app.js").write_bytes(b"// source\n")
    (dist / "index.html").write_text('<script src="/static/app-ABCDEFGH.js"></script>')
    (dist / "app-ABCDEFGH.js").write_bytes(SCRIPT)
    (dist / "app-ABCDEFGH.js.gz").write_bytes(gzip.compress(SCRIPT))
    (dist / "assets.json").write_text(json.dumps({"sources_at": time.time() * 1000 + 1}))
    monkeypatch.setattr(service, "STATIC_DIR", source)
    monkeypatch.setattr(static_files, "_state", {"at": -10.0, "dir": None, "built": None,
                                                 "reason": "unknown"})
    port = free_port()
    config = {**rabbit_config, "DATABASE_URLS": {"accounts": pg_url},
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}
    runner_factory(config, AccountsService, GatewayService).start()
    return f"http://127.0.0.1:{port}"


def test_the_front_end_over_http(portal):
    script = requests.get(f"{portal}/static/app-ABCDEFGH.js", timeout=15, stream=True,
                          headers={"Accept-Encoding": "gzip"})
    wire = script.raw.read(decode_content=False)
    assert script.status_code == 200
    assert script.headers["Content-Encoding"] == "gzip"
    assert int(script.headers["Content-Length"]) == len(wire) < len(SCRIPT)
    assert gzip.decompress(wire) == SCRIPT
    assert script.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert script.headers["Vary"] == "Accept-Encoding"
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"

    plain = requests.get(f"{portal}/static/app-ABCDEFGH.js", timeout=15,
                         headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.content == SCRIPT

    page = requests.get(f"{portal}/", timeout=15)
    assert page.status_code == 200 and "app-ABCDEFGH.js" in page.text
    assert page.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    again = requests.get(f"{portal}/", timeout=15, headers={"If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""

    for missing in ("no-such-file.js", "app-ABCDEFGH.js.gz", "dist/index.html"):
        answer = requests.get(f"{portal}/static/{missing}", timeout=15)
        assert answer.status_code == 404, missing
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["error"]["code"] == "NOT_FOUND", missing
