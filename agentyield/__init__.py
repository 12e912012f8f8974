"""agentyield: measure AI agents by the work they finish, not the tokens they stream.

    import agentyield
    agentyield.instrument()
"""

from __future__ import annotations

from ._api import instrument, uninstrument
from ._tasks import BudgetExceeded, Task, Verification, artifact, current_task, signal, task, verification
from ._tools import ToolCall, tool
from ._version import __version__

__all__ = [
    "BudgetExceeded", "Task", "ToolCall", "Verification", "__version__", "artifact", "current_task", "instrument", "signal", "task", "tool", "uninstrument", "verification",
]
