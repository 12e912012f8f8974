"""Run a function when a module is imported: how agentyield wraps a client SDK without importing it.

A finder first on `sys.meta_path` takes part only in the imports of the modules it watches: it asks the
other finders for the module's spec and wraps its loader, so that the hooks run right after the module has
executed, before the importer gets it. (wrapt has the same mechanism, but importing wrapt costs more
start-up time than the rest of `instrument()`; it is imported when an SDK is.)
"""

from __future__ import annotations

import sys
import threading
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any, Callable, Hashable

if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec
    from types import ModuleType

__all__ = ["when_imported"]

Hook = Callable[["ModuleType"], None]
_hooks: dict[str, dict[Hashable, Hook]] = {}
"""Module name -> the hooks waiting for it, one per key: instrumenting again replaces, never piles up."""
_lock = threading.Lock()


def when_imported(name: str, key: Hashable, hook: Hook) -> None:
    """Call `hook(module)` now if module `name` is imported, else right after it is (replacing the hook `key`
    registered before for it). Hooks guard themselves: they run inside the application's import."""
    with _lock:
        module = sys.modules.get(name)
        if module is None:
            _hooks.setdefault(name, {})[key] = hook
            if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
                sys.meta_path.insert(0, _Finder())
    if module is not None:
        hook(module)


class _Loader:
    """The module's own loader, with the hooks run after it executed the module."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its real loader: nothing of ours stays behind in it.
        if getattr(module, "__spec__", None) is not None and module.__spec__.loader is self:
            module.__spec__.loader = self.loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self.loader
        self.loader.exec_module(module)
        with _lock:
            hooks = _hooks.pop(module.__name__, {})
        for hook in hooks.values():
            hook(module)


class _Finder:
    def __init__(self) -> None:
        self._finding: set[str] = set()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in _hooks or fullname in self._finding:
            return None
        self._finding.add(fullname)  # the import lock of `fullname` is held: no other thread is here for it
        try:
            spec = find_spec(fullname)  # what the other finders say
        finally:
            self._finding.discard(fullname)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _Loader(spec.loader)
        return spec
