"""syncengine.service's public surface: a sorted, complete __all__, every name documented."""

from __future__ import annotations

import syncengine.service as service
from syncengine import SyncEngineError


def test_public_names_are_exported_in_a_sorted_all() -> None:
    def order(name: str) -> tuple[int, str]:  # ruff's isort-style: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert service.__all__ == sorted(service.__all__, key=order)
    assert all(hasattr(service, name) for name in service.__all__)


def test_every_public_callable_has_a_docstring() -> None:
    for name in service.__all__:
        obj = getattr(service, name)
        if callable(obj):
            assert obj.__doc__, name


def test_service_errors_are_engine_errors() -> None:
    assert issubclass(service.ServiceRefusedError, service.ServiceError)
    assert issubclass(service.ServiceError, SyncEngineError)
