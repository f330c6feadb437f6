"""Demo step: compile the syntheses once every other package has generated its content, so
``make run`` shows filled synthesis pages."""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy.orm import Session

from synthesis import catalog, engine


def generate(
    session: Session, scale: str, rng: random.Random, progress: Callable[..., object]
) -> None:
    scopes = catalog.all_scopes()
    with progress("Synthèses", engine.steps_for(scopes)) as bar:
        engine.compile_all(
            session,
            scopes=scopes,
            trigger="demo",
            progress=lambda _label, n=1: bar.update(n),
        )
