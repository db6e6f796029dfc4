"""The README's configuration tables name every setting the code reads, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from services.cli import SETTINGS
from shared.settings import UNPREFIXED_FIELDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
#: Variable names as the tables write them, `<SERVICE>_` standing for each service's prefix.
NAMED = re.compile(r"`((?:<SERVICE>_)?[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")


def documented() -> set[str]:
    names: set[str] = set()
    for name in NAMED.findall(README):
        if name.startswith("<SERVICE>_"):
            names |= {
                f"{service.upper()}_{name.removeprefix('<SERVICE>_')}" for service in SETTINGS
            }
        else:
            names.add(name)
    return names


def test_every_setting_is_documented_under_a_name_the_code_reads() -> None:
    named = documented()

    for service, kind in SETTINGS.items():
        prefix = f"{service.upper()}_"
        for field in kind.model_fields:
            variable = field.upper()
            readable = {f"{prefix}{variable}"} | (
                {variable} if field in UNPREFIXED_FIELDS else set()
            )
            assert readable & named, f"{prefix}{variable} is not in the README"


def test_every_documented_setting_is_read_by_the_code() -> None:
    read = set().union(*(kind.env_names() for kind in SETTINGS.values()))
    # The one variable the README names that is the test suite's, not the product's.
    suite = {"TEST_POSTGRES_URL"}

    assert documented() - read == suite
