"""Opening the LMS a configuration names: the embedded SQLite one or iSpring Learn.

The clients are imported when first opened, so that a command loads only the one it uses
(httpx and the iSpring client add a noticeable share of start-up time).
"""
from __future__ import annotations

from pathlib import Path

from ..config import Config
from .base import LMS


def open_lms(cfg: Config) -> LMS:
    if cfg.lms.kind == "ispring":
        from .ispring import ISpringLMS  # (loaded only for an iSpring configuration)

        return ISpringLMS(cfg.lms, cfg.state, concurrency=cfg.apply.concurrency)
    from .embedded import EmbeddedLMS  # (loaded only for an embedded configuration)

    return EmbeddedLMS(embedded_path(cfg))


def embedded_path(cfg: Config) -> Path:
    """Where the embedded LMS's database is: `[lms] path`, or lms.sqlite beside the configuration."""
    return cfg.lms.path or cfg.base_dir / "lms.sqlite"
