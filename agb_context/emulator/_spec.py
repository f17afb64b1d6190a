"""``openapi-emulator.yaml``, the description of the admin routes, as shipped in the package."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

SPEC_NAME = "openapi-emulator.yaml"


@functools.cache
def admin_spec() -> bytes:
    """The text of ``openapi-emulator.yaml``.

    The wheel carries it inside this package; a source checkout (an editable
    install) reads it from the repository's root, its one source.
    """
    packaged = resources.files("agb_context.emulator").joinpath(SPEC_NAME)
    if packaged.is_file():
        return packaged.read_bytes()
    return (Path(__file__).resolve().parents[2] / SPEC_NAME).read_bytes()
