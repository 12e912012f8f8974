"""agentyield: measure AI agents by the work they finish, not the tokens they stream.

    import agentyield
    agentyield.instrument()
"""

from __future__ import annotations

from ._api import instrument, uninstrument
from ._tasks import Task, Verification, artifact, current_task, task, verification
from ._version import __version__

__all__ = ["Task", "Verification", "__version__", "artifact", "current_task", "instrument", "task", "uninstrument", "verification"]
