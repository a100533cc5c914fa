"""Errors raised beneath every layer: a leaf module (it imports nothing from this package).

``ConfigError`` lives here rather than in ``config.py`` so that the provider packages, storage and
the shared state can raise it without importing the configuration loader (which reads the catalog).
"""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(Exception):
    """The environment cannot serve a session; the message names the variable to fix."""
