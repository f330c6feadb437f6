"""Placeholder module while issue 6 is being built; replaced by its owner."""

from __future__ import annotations
