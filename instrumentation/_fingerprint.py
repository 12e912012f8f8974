"""Privacy-safe fingerprints of the cacheable prompt prefix (the system prompt and the tool definitions) and of
the whole request.

Providers cache the longest stable prefix of a prompt; when the system prompt or the tools change, the
cache breaks. The fingerprint lets the derivation core see that happen without the text ever leaving
the process. Agents send the same system prompt and tool list on every call, so each part is hashed
once: strings are memoized by value, other objects by identity (a list mutated in place keeps its old
fingerprint until it is replaced).

The request fingerprint says whether an agent sent the same request again (a loop). It is on every call's hot
path, and a conversation grows without bound, so its cost is bounded instead of proportional to the context:
a list argument (the messages, the tools) counts by its length and its last element, and a long string by its
length and its first and last `_EDGE` characters. Identical requests always match; two requests in a row that
differ only inside an earlier message, or in the middle of a long string, match too (the documented blind
spot). The last tool definition is read once per object, like the prefix's tools (one edited in place keeps
its reading). It is keyed with a random key per process, so it matches only within one process and cannot be
matched against a guessed conversation.
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


def _digest(part: Any) -> bytes:
    if isinstance(part, str):
        digest = _by_value.get(part)
        if digest is None:
            if len(_by_value) >= _MAX_MEMO:
                _by_value.clear()
            digest = _by_value[part] = blake2b(part.encode(), digest_size=16).digest()
        return digest
    cached = _by_identity.get(id(part))
    if cached is not None and cached[0] is part:
        return cached[1]
    text = json.dumps(part, sort_keys=True, separators=(",", ":"), default=_default)
    digest = blake2b(text.encode(), digest_size=16).digest()
    if len(_by_identity) >= _MAX_MEMO:
        _by_identity.clear()
    _by_identity[id(part)] = (part, digest)  # the reference keeps the id from being reused
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
_EDGE = 256
"""Characters read from each end of a long string (with its length) by the request fingerprint."""
_MAX_ITEMS = 64
"""Elements of a nested list, and keys of an object, the request fingerprint reads (with the count)."""
_MAX_DEPTH = 12
_NOT_THE_REQUEST = frozenset({
    "extra_headers", "extra_query", "timeout", "request_timeout", "stream", "stream_options", "api_key", "api_base",
    "base_url", "metadata", "max_retries", "num_retries",
})
"""Keyword arguments that say how a request is sent (or is labelled), not what is asked: left out."""


def request_hash(kwargs: Mapping[str, Any]) -> str | None:
    """Hex fingerprint of a request's keyword arguments (those in `_NOT_THE_REQUEST` left out), at a cost bounded
    whatever the size of the conversation; None when there is nothing to fingerprint or a value cannot be read.
    Never raises."""
    parts: list[str] = []
    try:
        for name in sorted(kwargs):
            if name in _NOT_THE_REQUEST:
                continue
            value = kwargs[name]
            parts.append(name)
            if isinstance(value, (list, tuple)):  # a conversation: a loop re-sends the same one, same last message
                parts.append(f"[{len(value)}")
                if value:
                    if name == "tools":
                        parts.append(_tool_parts(value[-1]))
                    else:
                        _feed(parts, value[-1], 0)
            else:
                _feed(parts, value, 0)
        if not parts:
            return None
        digest = _KEYED.copy()  # the keyed state, set up once (a new keyed hash costs more than hashing a request)
        digest.update("\x00".join(parts).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()
    except (TypeError, ValueError, RecursionError):  # an unreadable value means no fingerprint, never a lost call
        return None


_KEYED = blake2b(digest_size=8, key=_REQUEST_KEY)
_tool_memo: dict[int, tuple[Any, str]] = {}


def _tool_parts(tool: Any) -> str:
    """The parts of a tool definition, joined, memoized by identity like the prefix fingerprint's tools (an agent
    sends the same definitions on every call): the same string `_feed` adds, at the cost of a lookup."""
    cached = _tool_memo.get(id(tool))
    if cached is not None and cached[0] is tool:
        return cached[1]
    parts: list[str] = []
    _feed(parts, tool, 0)
    joined = "\x00".join(parts)
    if len(_tool_memo) >= _MAX_MEMO:
        _tool_memo.clear()
    _tool_memo[id(tool)] = (tool, joined)  # the reference keeps the id from being reused
    return joined


_SCALARS = frozenset({type(None), bool, int, float})


def _feed(parts: list[str], value: Any, depth: int) -> None:
    """Add one value, reading a bounded part of it (each part tagged with its type, so "1" and 1 differ)."""
    if depth > _MAX_DEPTH:
        raise RecursionError("request too deeply nested to fingerprint")
    kind = type(value)
    if kind is str or isinstance(value, str):
        parts.append(f"'{len(value)}:{value[:_EDGE]}{value[-_EDGE:]}" if len(value) > 2 * _EDGE else "'" + value)
    elif kind in _SCALARS or isinstance(value, (bool, int, float)):
        parts.append(f"={value!r}")
    elif isinstance(value, dict):
        parts.append(f"{{{len(value)}")
        depth += 1
        for key in sorted(value)[:_MAX_ITEMS]:  # keys of mixed types cannot be sorted: TypeError, no fingerprint
            parts.append(f":{key}")
            item = value[key]
            if type(item) is str and len(item) <= 2 * _EDGE and depth <= _MAX_DEPTH:  # the common leaf, inline
                parts.append("'" + item)
            else:
                _feed(parts, item, depth)
    elif isinstance(value, (list, tuple)):
        parts.append(f"[{len(value)}")
        for item in value[:_MAX_ITEMS]:
            _feed(parts, item, depth + 1)
    elif isinstance(value, type):  # a model class (a structured-output schema): by its name
        parts.append(f"<{value.__module__}.{value.__qualname__}")
    else:
        dump = getattr(value, "model_dump", None)
        if dump is not None:  # a pydantic model (the SDKs' own message and tool types)
            _feed(parts, dump(mode="json", exclude_unset=True), depth + 1)
        else:  # a sentinel (`NOT_GIVEN`), an enum, ...: its repr
            _feed(parts, repr(value), depth + 1)
