#!/usr/bin/env python3
"""Add or change portal texts in every language file at once (gateway/static/i18n/<lang>.json).

    scripts/i18n_set.py dashboard.renewal.missing en="Renewal on {date} needs {amount}" \\
        de="Die Verlängerung am {date} braucht {amount}" it="…" th="…"
    scripts/i18n_set.py --file texts.json      # {"dashboard.renewal.missing": {"en": "…", …}}
    scripts/i18n_set.py --delete dashboard.old.key

Keys are dotted paths; a new key goes at the end of its section. Every language that has a file
must be given (a text in English only is an untranslated text). The files are rewritten in one
format (2-space indent, UTF-8) under a lock, so several people (or helpers) can add texts at the
same time without losing each other's.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import pathlib
import sys

DIR = pathlib.Path(__file__).resolve().parent.parent / "gateway" / "static" / "i18n"


def languages() -> list[str]:
    return sorted(p.stem for p in DIR.glob("*.json"))


def _set(tree: dict, key: str, value: str) -> None:
    *path, last = key.split(".")
    node = tree
    for part in path:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise SystemExit(f"{key}: {part} is a text, not a section")
    if isinstance(node.get(last), dict):
        raise SystemExit(f"{key} is a section, not a text")
    node[last] = value


def _delete(tree: dict, key: str) -> None:
    """Remove the key, and any section it leaves empty."""
    first, _, rest = key.partition(".")
    if rest and isinstance(tree.get(first), dict):
        _delete(tree[first], rest)
        if not tree[first]:
            del tree[first]
    elif not rest:
        tree.pop(first, None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("key", nargs="?")
    parser.add_argument("texts", nargs="*", help='lang="text" for every language')
    parser.add_argument("--file", help="a JSON file {key: {lang: text}}")
    parser.add_argument("--delete", action="append", default=[], help="a key to remove")
    args = parser.parse_args(argv)
    langs = languages()
    changes: dict[str, dict[str, str]] = {}
    if args.file:
        changes.update(json.loads(pathlib.Path(args.file).read_text(encoding="utf-8")))
    if args.key:
        changes[args.key] = dict(t.split("=", 1) for t in args.texts)
    for key, texts in changes.items():
        missing = [lang for lang in langs if not texts.get(lang)]
        if missing:
            raise SystemExit(f"{key}: no text for {', '.join(missing)}")
    with open(DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for lang in langs:
            path = DIR / f"{lang}.json"
            tree = json.loads(path.read_text(encoding="utf-8"))
            for key in args.delete:
                _delete(tree, key)
            for key, texts in changes.items():
                _set(tree, key, texts[lang])
            path.write_text(json.dumps(tree, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{len(changes)} text(s) set, {len(args.delete)} removed in {', '.join(langs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
