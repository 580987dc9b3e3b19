"""Figures measured by the hardening tests, collected into artifacts/hardening.json for
docs/reliability.md (reported, never asserted as times)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ARTIFACT = Path(__file__).resolve().parents[2] / "artifacts" / "hardening.json"


def record(name: str, **figures: Any) -> None:
    ARTIFACT.parent.mkdir(exist_ok=True)
    data = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    data[name] = figures
    ARTIFACT.write_text(json.dumps(data, indent=1, sort_keys=True))
    print(f"{name}: {figures}")
