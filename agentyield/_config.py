"""Configuration, read once at `instrument()` into a frozen object that is passed explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Config"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
STREAM_USAGE_ENV = "AGENTYIELD_STREAM_USAGE"
PRIVACY_SCAN_ENV = "AGENTYIELD_PRIVACY_SCAN"


def _env_flag(name: str, default: bool) -> bool:
    """A boolean environment variable; an unreadable value keeps the default (environment values never raise)."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return default


@dataclass(frozen=True)
class Config:
    capture_content: bool = False
    """Record prompt and completion content on spans. Off by default: only hashes leave the process."""

    request_stream_usage: bool = True
    """Ask OpenAI chat streams for usage the caller did not request, and hide that extra chunk from the caller."""

    privacy_scan: bool = False
    """Count personal data and secrets in what each call sends (counts only; the text never leaves)."""

    agent: str | None = None
    """The agent that calls made outside any `task()` belong to (written on their spans)."""

    @classmethod
    def from_env(
        cls,
        *,
        capture_content: bool | None = None,
        request_stream_usage: bool | None = None,
        privacy_scan: bool | None = None,
        agent: str | None = None,
    ) -> Config:
        """Arguments win over the environment, which wins over the defaults."""
        return cls(
            agent=agent,
            privacy_scan=_env_flag(PRIVACY_SCAN_ENV, False) if privacy_scan is None else bool(privacy_scan),
            capture_content=(
                _env_flag(CAPTURE_CONTENT_ENV, False) if capture_content is None else bool(capture_content)
            ),
            request_stream_usage=(
                _env_flag(STREAM_USAGE_ENV, True) if request_stream_usage is None else bool(request_stream_usage)
            ),
        )
