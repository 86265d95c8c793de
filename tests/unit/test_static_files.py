"""How the gateway serves the portal front end (gateway/static_files.py, gateway/service.py
`_static`): hashed files immutable and compressed as the browser accepts, the page and the
service worker revalidated, unknown files the API's 404 error, and the unbundled sources when
nothing is built. On a small build of its own in a temporary folder."""

import gzip
import json
import logging
import os
import time
import zlib

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway import service, static_files

SCRIPT = b"export const answer = 42;\n" * 40
BROTLI = b"(a brotli stream)"  # the gateway only passes the file on, it never decodes it


@pytest.fixture(autouse=True)
def fresh_state(monkeypatch):
    """Each test looks at its own folder afresh (the gateway looks once a second)."""
    monkeypatch.setattr(static_files, "_state", {"at": -10.0, "dir": None, "built": None,
                                                 "reason": "unknown"})


@pytest.fixture
def static_dir(tmp_path):
    source = tmp_path / "static"
    dist = source / "dist"
    (dist / "i18n").mkdir(parents=True)
    (source / "app.js").write_bytes(b"// the unbundled source\n")
    (dist / "index.html").write_text('<script src="/static/app-ABCDEFGH.js"></script>')
    (dist / "app-ABCDEFGH.js").write_bytes(SCRIPT)
    (dist / "app-ABCDEFGH.js.gz").write_bytes(gzip.compress(SCRIPT))
    (dist / "app-ABCDEFGH.js.br").write_bytes(BROTLI)
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (dist / "i18n" / "en-QRSTUVWX.json").write_text('{"app": {"name": "Portal"}}')
    # made from the sources as they are now
    (dist / "assets.json").write_text(json.dumps({"sources_at": time.time() * 1000 + 1}))
    return source


def get(static_dir, path, **headers):
    request = Request(EnvironBuilder(path=f"/static/{path}", headers=headers).get_environ())
    response = static_files.serve(request, path, static_dir)
    response.direct_passthrough = False
    return response


def test_a_hashed_file_is_immutable_and_gzipped_when_the_browser_accepts_gzip(static_dir):
    response = get(static_dir, "app-ABCDEFGH.js", **{"Accept-Encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Expires" not in response.headers
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    assert int(response.headers["Content-Length"]) == len(body) < len(SCRIPT)
    assert gzip.decompress(body) == SCRIPT


def test_brotli_is_preferred_and_identity_is_sent_to_a_browser_that_accepts_neither(static_dir):
    brotli = get(static_dir, "app-ABCDEFGH.js", **{"Accept-Encoding": "gzip, br"})
    assert brotli.headers["Content-Encoding"] == "br" and brotli.get_data() == BROTLI
    plain = get(static_dir, "app-ABCDEFGH.js")
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == SCRIPT and int(plain.headers["Content-Length"]) == len(SCRIPT)
    assert "Accept-Encoding" in plain.headers["Vary"]  # a cache must not mix the two up
    refused = get(static_dir, "app-ABCDEFGH.js", **{"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_the_page_is_revalidated_with_an_etag(static_dir):
    page = get(static_dir, "index.html")
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    etag = page.headers["ETag"]
    environ = EnvironBuilder(path="/static/index.html",
                             headers={"If-None-Match": etag}).get_environ()
    again = static_files.serve(Request(environ), "index.html", static_dir)
    assert again.status_code == 304 and b"".join(again.get_app_iter(environ)) == b""


def test_the_service_worker_may_control_the_whole_portal_and_is_revalidated(static_dir):
    worker = get(static_dir, "sw.js")
    assert worker.headers["Service-Worker-Allowed"] == "/"
    assert worker.headers["Cache-Control"] == "no-cache"


def test_hashed_translations_are_immutable_json(static_dir):
    answer = get(static_dir, "i18n/en-QRSTUVWX.json")
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Cache-Control"].endswith("immutable")
    assert json.loads(answer.get_data()) == {"app": {"name": "Portal"}}


@pytest.mark.parametrize("path", [
    "app.js", "app-ABCDEFGH.js.gz", "app-ABCDEFGH.js.br", "dist/index.html", "../dist/index.html",
    "i18n", "nope-ABCDEFGH.js"])
def test_only_the_built_files_are_addressable(static_dir, path):
    with pytest.raises(NotFound):
        get(static_dir, path)


def test_an_unknown_file_is_the_api_s_404_error(static_dir, monkeypatch):
    monkeypatch.setattr(service, "STATIC_DIR", static_dir)
    request = Request(EnvironBuilder(path="/static/no-such-file.js").get_environ())
    answer = service._static(request, "no-such-file.js")
    assert answer.status_code == 404
    assert answer.headers["Content-Type"].startswith("application/json")
    error = json.loads(answer.get_data())["error"]
    assert error["code"] == "NOT_FOUND" and error["message"] == "No such file."
    found = service._static(Request(EnvironBuilder(path="/").get_environ()), "index.html")
    assert found.status_code == 200
    assert "default-src 'self'" in found.headers["Content-Security-Policy"]  # the page's headers


def test_without_a_build_the_sources_are_served_as_they_are_and_the_log_says_so(
        static_dir, monkeypatch, caplog):
    for file in sorted((static_dir / "dist").rglob("*"), reverse=True):
        file.rmdir() if file.is_dir() else file.unlink()
    (static_dir / "dist").rmdir()
    with caplog.at_level(logging.WARNING, logger="gateway.static_files"):
        source = get(static_dir, "app.js", **{"Accept-Encoding": "gzip"})
        get(static_dir, "app.js")
    assert source.get_data() == b"// the unbundled source\n"
    assert source.headers["Cache-Control"] == "no-cache"
    assert "Content-Encoding" not in source.headers
    warnings = [r.getMessage() for r in caplog.records if "sources" in r.getMessage()]
    assert len(warnings) == 1 and "no build" in warnings[0] and "build_assets.mjs" in warnings[0]


def test_a_source_changed_after_the_build_is_served_as_it_is_now(static_dir, caplog):
    later = time.time() + 5
    os.utime(static_dir / "app.js", (later, later))
    with caplog.at_level(logging.WARNING, logger="gateway.static_files"):
        assert get(static_dir, "app.js").get_data() == b"// the unbundled source\n"
    assert any("app.js changed after the last build" in r.getMessage() for r in caplog.records)
    # a page loaded from the build a moment ago still gets its (immutable) files
    kept = get(static_dir, "app-ABCDEFGH.js", **{"Accept-Encoding": "gzip"})
    assert gzip.decompress(kept.get_data()) == SCRIPT
    assert kept.headers["Cache-Control"].endswith("immutable")
    with pytest.raises(NotFound):
        get(static_dir, "sw.js")  # the build's, unhashed: not while the sources are served


def test_the_real_build_is_what_index_html_refers_to():
    """When the front end is built (scripts/setup.sh), every file the page refers to is there, and
    no staff page is among the scripts it preloads."""
    built = service.STATIC_DIR / "dist"
    if not (built / "assets.json").is_file():
        pytest.skip("the front end is not built here (scripts/setup.sh builds it)")
    manifest = json.loads((built / "assets.json").read_text())
    html = (built / "index.html").read_text()
    for name in [manifest["files"]["app.js"], manifest["files"]["styles.css"],
                 *manifest["staticChunks"]]:
        assert f"/static/{name}" in html and (built / name).is_file(), name
        assert zlib.decompress((built / f"{name}.gz").read_bytes(), 16 + zlib.MAX_WBITS) == \
            (built / name).read_bytes()
    assert manifest["lazyChunks"] and all(c.startswith("ops-") for c in manifest["lazyChunks"])
    assert "ops-" not in html
