"""setuptools' build backend, building the wheel in a temporary copy instead of the checkout.

``pip install .`` builds in the source tree, where setuptools writes ``build/`` (a copy of every
module) and ``memory_agent.egg-info``, and leaves them. ``langgraph dev`` watches every ``*.py``
file below the project (uvicorn's reloader; ``langgraph.json`` cannot exclude a folder) and
restarts as soon as those copies are written. So the wheel hooks copy what the wheel is made of
(``SOURCES``) to a temporary folder and let setuptools build there; the checkout is not written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from setuptools import build_meta
from setuptools.build_meta import (  # noqa: F401 - setuptools' own hooks, as they are
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
)

SOURCES = ("pyproject.toml", "README.md", "MANIFEST.in", "build_backend.py", "memory_agent")
"""What the wheel is built from: the package, and the files its metadata reads."""


@contextmanager
def _in_a_copy() -> Iterator[None]:
    """Run a hook in a temporary copy of ``SOURCES``, then return to the checkout."""
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="memory-agent-build-") as copy:
        for name in SOURCES:
            if (here / name).is_dir():
                skip = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(here / name, Path(copy, name), ignore=skip)
            else:
                shutil.copy2(here / name, copy)
        os.chdir(copy)
        try:
            yield
        finally:
            os.chdir(here)


def prepare_metadata_for_build_wheel(
    metadata_directory: str, config_settings: dict[str, Any] | None = None
) -> str:
    """The wheel's metadata, as setuptools writes it, from the copy."""
    target = os.path.abspath(metadata_directory)
    with _in_a_copy():
        return build_meta.prepare_metadata_for_build_wheel(target, config_settings)


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """The wheel, as setuptools builds it, from the copy."""
    target = os.path.abspath(wheel_directory)
    metadata = os.path.abspath(metadata_directory) if metadata_directory else None
    with _in_a_copy():
        return build_meta.build_wheel(target, config_settings, metadata)
