"""The portal front end's files as the gateway serves them (the routes `/` and `/static/<path>`).

Built (the normal case): `scripts/build_assets.mjs` (run by `scripts/setup.sh`, so by `make run`
and `make test`) writes the front end to `gateway/static/dist/`: bundled, minified scripts and
styles, translations and icons, each with a content hash in its name, and `index.html`, `sw.js`
under fixed names. Those files are served from there, and only those:

- a file whose name carries the hash (`app-6SPTDWFY.js`) never changes: `Cache-Control: public,
  max-age=31536000, immutable`; every other file (`index.html`, `sw.js`, the unhashed
  translations) `no-cache`, with an ETag, so a browser revalidates it (304) at each use;
- text files have a brotli (`.br`) and a gzip (`.gz`) copy made at build time: the one the browser
  accepts (`Accept-Encoding`) is sent with `Content-Encoding`, its own `Content-Length` and
  `Vary: Accept-Encoding`; the copies themselves are not addressable;
- `sw.js` may control the whole portal (`Service-Worker-Allowed: /`).

Not built, or built before a source file last changed (someone is editing the front end, or the
set-up has not run since a checkout): the sources in `gateway/static/` are served as they are,
unbundled, uncompressed and `no-cache`, so what is served is always what is in the sources; the
log says so (once per change of state). Hashed files of the last build stay reachable, so a page
loaded just before stays whole. Run `scripts/setup.sh` (or `node scripts/build_assets.mjs`) to
build again.
"""

from __future__ import annotations

import json
import logging
import os
import pathlib
import re
import time

from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

log = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
HASHED = re.compile(r"-[A-Z0-9]{8}\.[a-z]+$")  # as scripts/build_assets.mjs names them
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first
CONTENT_TYPES = {
    ".html": "text/html",  # text/*: werkzeug adds "; charset=utf-8"
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
FRESHNESS_SECONDS = 1.0  # how long one look at the sources' modification times holds
_state: dict = {"at": -FRESHNESS_SECONDS, "dir": None, "built": None, "reason": "unknown"}


def _newer_source(source_dir: pathlib.Path, since_ms: float) -> str | None:
    """A source file (not the build, not a dotfile) changed after `since_ms`, if any."""
    for folder, subfolders, names in os.walk(source_dir):
        top = folder == str(source_dir)
        subfolders[:] = [d for d in subfolders
                         if not d.startswith(".") and not (top and d == "dist")]
        for name in names:
            full = os.path.join(folder, name)
            if not name.startswith(".") and os.stat(full).st_mtime * 1000 > since_ms:
                return os.path.relpath(full, source_dir)
    return None


def built_dir(source_dir: pathlib.Path) -> pathlib.Path | None:
    """The build output if it is there and no source changed since it was made, else None."""
    now = time.monotonic()
    if _state["dir"] == source_dir and now - _state["at"] < FRESHNESS_SECONDS:
        return _state["built"]
    out = source_dir / "dist"
    built, reason = None, None
    try:
        sources_at = json.loads((out / "assets.json").read_text())["sources_at"]
        if not (out / "index.html").is_file():
            raise FileNotFoundError(out / "index.html")
        changed = _newer_source(source_dir, sources_at)
        if changed:
            reason = f"{changed} changed after the last build"
        else:
            built = out
    except (OSError, ValueError, KeyError, TypeError):
        reason = f"there is no build in {out}"
    if reason and reason != _state["reason"]:
        log.warning("Serving the portal front end's sources, unbundled and uncompressed: %s. "
                    "Build it: scripts/setup.sh or node scripts/build_assets.mjs", reason)
    elif built and _state["reason"] is not None and _state["reason"] != "unknown":
        log.info("Serving the portal front end's build in %s", out)
    _state.update(at=now, dir=source_dir, built=built, reason=reason)
    return built


def serve(request: Request, path: str, source_dir: pathlib.Path) -> Response:
    """One front-end file; raises werkzeug's NotFound for anything else."""
    built = built_dir(source_dir)
    if path == "dist" or path.startswith("dist/"):
        raise NotFound()
    name = os.path.basename(path)
    if path.endswith((".gz", ".br", ".tmp")) or name.startswith(".") or ".tmp-" in name:
        raise NotFound()
    # the build only; or the sources, then the last build's hashed files (a page loaded from it)
    roots = [built] if built else [source_dir, source_dir / "dist"]
    for root in roots:
        full = safe_join(str(root), path)
        if full is not None and os.path.isfile(full) and (root == built or root == source_dir
                                                           or HASHED.search(name)):
            break
    else:
        raise NotFound()
    compressed = root != source_dir

    suffix = os.path.splitext(name)[1]
    chosen, encoding = full, None
    if compressed:
        for coding, ending in ENCODINGS:
            if request.accept_encodings[coding] and os.path.isfile(full + ending):
                chosen, encoding = full + ending, coding
                break
    response = send_file(chosen, request.environ, download_name=name, conditional=True,
                         mimetype=CONTENT_TYPES.get(suffix, "application/octet-stream"))
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if compressed and os.path.isfile(full + ".gz"):
        response.vary.add("Accept-Encoding")
    if compressed and HASHED.search(name):
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers.pop("Expires", None)
    else:
        response.headers["Cache-Control"] = "no-cache"
    if name == "sw.js":
        response.headers["Service-Worker-Allowed"] = "/"
    return response
