"""Run every Python block of a docs page and compare what it prints with the ```text block after it.

Usage: python docs/check_python_outputs.py [docs/python.md]   (from the repository root; about a minute)
Prints each block whose output differs from the page, and exits 1 if any does. The test suite
runs the blocks (tests/test_docs.py) but does not compare their output, which may differ in the
last digits between machines; run this after a change that moves trained vectors, and paste.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    page = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "python.md").resolve()
    parts = re.findall(r"^```(python|text)\n(.*?)^```$", page.read_text(encoding="utf-8"), re.S | re.M)
    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sample_data").symlink_to(ROOT / "sample_data")
        os.chdir(tmp)
        namespace: dict[str, object] = {"__name__": "docs_" + page.stem}
        printed: str | None = None
        for number, (kind, body) in enumerate(parts, start=1):
            if kind == "python":
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    exec(compile(body, f"{page.name}, block {number}", "exec"), namespace)
                printed = buffer.getvalue()
            elif printed is not None:
                if printed.strip() != body.strip():
                    differ += 1
                    print(
                        f"--- {page.name}, text block {number}: the page says\n{body}--- a run prints\n{printed}"
                    )
                printed = None
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
