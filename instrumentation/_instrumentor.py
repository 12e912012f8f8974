"""The base of every per-library instrumentor: wrap a fixed list of SDK methods, and unwrap them exactly.

A library that is installed but not yet imported is wrapped when the application imports it (a
post-import hook), so instrumenting never imports a client library the application does not use.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor
from opentelemetry.instrumentation.utils import unwrap

from agentyield._guard import internal_error

from ._wrappers import async_wrapper, sync_wrapper

if TYPE_CHECKING:
    from agentyield._config import Config

    from ._invocation import Telemetry
    from ._provider import Provider

__all__ = ["LibraryInstrumentor", "Target"]


@dataclass(frozen=True)
class Target:
    module: str
    name: str
    """`Class.method` inside `module`, or a module-level `function`."""
    api: str
    is_async: bool = False
    factory: Callable[..., Any] | None = None
    """A wrapper factory `(telemetry, provider, api) -> wrapper` for methods that do not return the response."""


class LibraryInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    library: str
    """The top-level module; wrapping waits until the application imports it."""
    targets: tuple[Target, ...]

    def provider(self, config: Config) -> Provider:
        raise NotImplementedError

    def _instrument(self, **kwargs: Any) -> None:
        telemetry: Telemetry = kwargs["telemetry"]
        self._wrapped: list[tuple[Any, str]] = []
        self._active = True
        # wrapt cannot remove a post-import hook: one from an earlier instrument() must stand down, or it would
        # wrap with that call's providers when the application finally imports the library.
        generation = self._generation = getattr(self, "_generation", 0) + 1
        if self.library in sys.modules:
            self._wrap_all(telemetry, generation)
        else:
            wrapt.register_post_import_hook(lambda _module: self._wrap_all(telemetry, generation), self.library)

    def _wrap_all(self, telemetry: Telemetry, generation: int) -> None:
        if not self._active or self._wrapped or generation != self._generation:
            return
        try:
            provider = self.provider(telemetry.config)
        except Exception as exc:  # noqa: BLE001 - an SDK we cannot read stays uninstrumented, not broken
            internal_error(f"{self.library}.instrument", exc)
            return
        for target in self.targets:
            try:
                module = importlib.import_module(target.module)
            except ImportError:
                continue  # an API this SDK version does not have
            class_name, _, method = target.name.rpartition(".")
            owner = getattr(module, class_name, None) if class_name else module
            if owner is None or not hasattr(owner, method):
                continue
            factory = target.factory or (async_wrapper if target.is_async else sync_wrapper)
            wrapt.wrap_function_wrapper(owner, method, factory(telemetry, provider, target.api))
            self._wrapped.append((owner, method))

    def _uninstrument(self, **kwargs: Any) -> None:
        self._active = False
        for owner, method in self._wrapped:
            unwrap(owner, method)
        self._wrapped = []
