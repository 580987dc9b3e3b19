"""The sections of docs/performance.md that the browser tests write (reported, never asserted)."""

from __future__ import annotations

import re

from .lab import ROOT

PERFORMANCE_DOC = ROOT / "docs" / "performance.md"


def replace_section(heading: str, section: str) -> None:
    """Put ``section`` (which starts with ``heading``) in place of that heading's section.

    A section runs from its ``## `` heading to the next one; one not there yet goes at the end.
    """
    text = PERFORMANCE_DOC.read_text() if PERFORMANCE_DOC.exists() else "# Performance\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    PERFORMANCE_DOC.write_text(text)
