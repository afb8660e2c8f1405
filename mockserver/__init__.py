"""mockserver: a local emulator of cloud batch and asynchronous inference APIs.

Import is cheap on purpose: the CLI and the server's start-up path must not pull in torch or
Flask before they are needed, so the public names are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Settings", "__version__", "create_app", "load_settings"]

if TYPE_CHECKING:
    from .app import create_app
    from .settings import Settings, load_settings


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name in ("Settings", "load_settings"):
        from . import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
