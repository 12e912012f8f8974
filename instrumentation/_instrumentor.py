"""The base of every per-library instrumentor: wrap a fixed list of SDK methods, and unwrap them exactly.

Each target module is wrapped when the application imports it (a post-import hook per module), so
instrumenting imports no client SDK module the application would not load itself: the SDKs load their
resources lazily (`client.responses` imports the Responses API on first use), and so do we.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import wrapt

from agentyield._guard import internal_error

from ._hooks import when_imported
from ._wrappers import async_wrapper, sync_wrapper

if TYPE_CHECKING:
    from types import ModuleType

    from agentyield._config import Config

    from ._invocation import Telemetry
    from ._provider import Provider

__all__ = ["LibraryInstrumentor", "Target"]

logger = logging.getLogger("agentyield")


@dataclass(frozen=True)
class Target:
    module: str
    name: str
    """`Class.method` inside `module`, or a module-level `function`."""
    api: str
    is_async: bool = False
    factory: Callable[..., Any] | None = None
    """A wrapper factory `(telemetry, provider, api) -> wrapper` for methods that do not return the response."""


def installed_version(library: str, distribution: str) -> tuple[int, ...] | None:
    """The leading numbers of an imported library's version (its or its package's `__version__`, else its
    distribution's), or None."""
    version = next((v for name in (library, library.partition(".")[0])
                    if isinstance(v := getattr(sys.modules.get(name), "__version__", None), str)), None)
    if version is None:
        from importlib.metadata import PackageNotFoundError, version as metadata_version

        try:
            version = metadata_version(distribution)
        except PackageNotFoundError:
            return None
    numbers = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in numbers.group().split(".")) if numbers else None


class LibraryInstrumentor:
    """Instrumenting twice does nothing; `uninstrument()` restores exactly what was wrapped."""

    library: str
    """The module whose import starts instrumenting (the library's top-level module)."""
    distribution: str
    """Its distribution on PyPI, for the version when the module has no `__version__`."""
    min_version: tuple[int, ...]
    """The oldest version supported: an older one is left alone, with one warning."""
    targets: tuple[Target, ...]

    def __init__(self) -> None:
        self._generation = 0
        """Bumped by every instrument and uninstrument: a post-import hook of an earlier generation stands down
        (a hook cannot be removed once the import it waits for has begun)."""
        self._instrumented = False
        self._wrapped: list[tuple[Any, str, Any]] = []

    def provider(self, config: Config) -> Provider | None:
        raise NotImplementedError

    def instrument(self, telemetry: Telemetry) -> None:
        """Called once `library` is imported: wrap each target module now or when the application imports it."""
        if self._instrumented or not self._supported():
            return
        try:
            provider = self.provider(telemetry.config)
        except Exception as exc:  # noqa: BLE001 - an SDK we cannot read stays uninstrumented, not broken
            internal_error(f"{self.library}.instrument", exc)
            return
        self._instrumented = True
        self._generation += 1
        by_module: dict[str, list[Target]] = {}
        for target in self.targets:
            by_module.setdefault(target.module, []).append(target)
        for name, targets in by_module.items():
            hook = functools.partial(self._wrap_module, targets=targets, wrapping=(telemetry, provider), generation=self._generation)
            when_imported(name, (type(self), name), hook)

    def uninstrument(self) -> None:
        self._instrumented = False
        self._generation += 1
        for owner, method, wrapper in self._wrapped:
            if owner.__dict__.get(method) is wrapper:  # still ours, not replaced by someone else since
                setattr(owner, method, wrapper.__wrapped__)
        self._wrapped = []

    def _supported(self) -> bool:
        version = installed_version(self.library, self.distribution)
        if version is not None and version < self.min_version:
            oldest = ".".join(map(str, self.min_version))
            logger.warning("agentyield: %s %s is older than %s, the oldest supported; not instrumented",
                           self.distribution, ".".join(map(str, version)), oldest)
            return False
        return True

    def _wrap_module(self, module: ModuleType, targets: list[Target], wrapping: tuple[Telemetry, Any], generation: int) -> None:
        if generation != self._generation:
            return
        telemetry, provider = wrapping
        try:
            for target in targets:
                class_name, _, method = target.name.rpartition(".")
                owner = getattr(module, class_name, None) if class_name else module
                if owner is None or not hasattr(owner, method):
                    continue  # an API this SDK version does not have
                factory = target.factory or (async_wrapper if target.is_async else sync_wrapper)
                wrapper = wrapt.wrap_function_wrapper(owner, method, factory(telemetry, provider, target.api))
                self._wrapped.append((owner, method, wrapper))
        except Exception as exc:  # noqa: BLE001 - an SDK we cannot read stays uninstrumented, not broken
            internal_error(f"{self.library}.instrument", exc)
