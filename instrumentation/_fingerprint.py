"""Privacy-safe fingerprints of the cacheable prompt prefix (the system prompt and the tool definitions) and of
the whole request.

Providers cache the longest stable prefix of a prompt; when the system prompt or the tools change, the
cache breaks. The fingerprint lets the derivation core see that happen without the text ever leaving
the process. Agents send the same system prompt and tool list on every call, so each part is hashed
once: strings are memoized by value, other objects by identity (a list mutated in place keeps its old
fingerprint until it is replaced).

The request fingerprint says whether an agent sent the very same request again (a loop). Its messages list
is usually mutated in place between calls, so it is hashed element by element (each element memoized as
above: a message object edited in place between calls keeps its old fingerprint). It is keyed with a random
key per process, so it matches only within one process and cannot be matched against a guessed conversation.
"""

from __future__ import annotations

import json
import os
from hashlib import blake2b
from typing import Any, Mapping

__all__ = ["prefix_hash", "request_hash"]

_MAX_MEMO = 512
_by_value: dict[str, bytes] = {}
_by_identity: dict[int, tuple[Any, bytes]] = {}
_combined: dict[tuple[bytes, ...], str] = {}


def _default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    if dump is not None and not isinstance(obj, type):  # a model class (a structured-output schema) is its repr
        return dump(mode="json", exclude_unset=True)
    return repr(obj)


def _digest(part: Any, by_identity: dict[int, tuple[Any, bytes]] = _by_identity, limit: int = _MAX_MEMO) -> bytes:
    if isinstance(part, str):
        digest = _by_value.get(part)
        if digest is None:
            if len(_by_value) >= _MAX_MEMO:
                _by_value.clear()
            digest = _by_value[part] = blake2b(part.encode(), digest_size=16).digest()
        return digest
    cached = by_identity.get(id(part))
    if cached is not None and cached[0] is part:
        return cached[1]
    text = json.dumps(part, sort_keys=True, separators=(",", ":"), default=_default)
    digest = blake2b(text.encode(), digest_size=16).digest()
    if len(by_identity) >= limit:
        by_identity.clear()
    by_identity[id(part)] = (part, digest)  # the reference keeps the id from being reused
    return digest


def prefix_hash(*parts: Any) -> str | None:
    """Hex fingerprint of the prefix parts that are present (None, empty or omitted parts are skipped)."""
    digests = tuple(_digest(part) for part in parts if part and isinstance(part, (str, list, tuple, dict)))
    if not digests:
        return None
    fingerprint = _combined.get(digests)
    if fingerprint is None:
        if len(_combined) >= _MAX_MEMO:
            _combined.clear()
        fingerprint = _combined[digests] = blake2b(b"".join(digests), digest_size=8).hexdigest()
    return fingerprint


_REQUEST_KEY = os.urandom(16)
_MAX_ELEMENTS = 1_024
_elements: dict[int, tuple[Any, bytes]] = {}
"""Request elements (messages, tool definitions, ...) by identity, apart from the prefix parts so a long
conversation does not evict them."""
_NOT_THE_REQUEST = frozenset({
    "extra_headers", "extra_query", "timeout", "request_timeout", "stream", "stream_options", "api_key", "api_base",
    "base_url", "metadata", "max_retries", "num_retries",
})
"""Keyword arguments that say how a request is sent (or is labelled), not what is asked: left out."""
_SCALARS = (bool, int, float, type(None))


def request_hash(kwargs: Mapping[str, Any]) -> str | None:
    """Hex fingerprint of a request's keyword arguments (those in `_NOT_THE_REQUEST` left out); None when there
    is nothing to fingerprint or a value cannot be read. Never raises."""
    try:
        fingerprint = blake2b(digest_size=8, key=_REQUEST_KEY)
        empty = True
        for name in sorted(kwargs):
            if name in _NOT_THE_REQUEST:
                continue
            empty = False
            value = kwargs[name]
            fingerprint.update(b"\x00" + name.encode() + b"\x00")
            if isinstance(value, (list, tuple)):
                fingerprint.update(b"[%d]" % len(value))
                for item in value:
                    fingerprint.update(_element(item))
            else:
                fingerprint.update(_element(value))
        return None if empty else fingerprint.hexdigest()
    except (TypeError, ValueError, RecursionError):  # an unreadable value means no fingerprint, never a lost call
        return None


def _element(value: Any) -> bytes:
    if isinstance(value, _SCALARS):
        return b"=" + repr(value).encode() + b"\x00"
    if isinstance(value, str):  # hashed, not memoized: no prompt text kept alive by value
        return b"'" + blake2b(value.encode(), digest_size=16).digest()
    return b"#" + _digest(value, _elements, _MAX_ELEMENTS)
