"""Results space models (published synthesis versions, proposals, sources)."""

from __future__ import annotations
