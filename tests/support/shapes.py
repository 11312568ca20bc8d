"""The message of a test that guards a reach into a library's internals: which library,
which version is installed, which one the reach was written for, and the way out."""

from __future__ import annotations

from importlib.metadata import version


def changed(module: str, tested_with: dict[str, str], what: str) -> str:
    installed = ", ".join(f"{name} {version(name)}" for name in tested_with)
    tested = ", ".join(f"{name} {v}" for name, v in tested_with.items())
    return (f"{what}: the library no longer has the shape {module} was written for "
            f"(installed: {installed}; tested with: {tested}). Run with SPEED_PATHS=false "
            f"(the public API only) until {module} is adapted.")
