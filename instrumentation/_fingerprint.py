"""Privacy-safe fingerprints of the cacheable prompt prefix (the system prompt and the tool definitions) and of
the whole request.

Providers cache the longest stable prefix of a prompt; when the system prompt or the tools change, the
cache breaks. The fingerprint lets the derivation core see that happen without the text ever leaving
the process. Agents send the same system prompt and tool list on every call, so each part is hashed
once: strings are memoized by value, other objects by identity (a list mutated in place keeps its old
fingerprint until it is replaced).

The request fingerprint says whether an agent sent the very same request again (a loop). Agents grow and edit
their conversation in place between calls, so it is walked value by value on every call (only long strings,
which cannot change, and SDK objects are memoized by identity); the rest of the request (tools, ...) is
memoized like the prefix. It is keyed with a random key per process, so it matches only within one process
and cannot be matched against a guessed conversation.
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
_CONVERSATION = frozenset({"messages", "input", "contents", "system", "instructions", "prompt"})
"""Keyword arguments that carry the conversation (every SDK's names): walked value by value on each call, since
agents grow and edit them in place. Any other argument (tools, response format, config) is digested whole and
memoized by identity, as the prefix is."""
_NOT_THE_REQUEST = frozenset({
    "extra_headers", "extra_query", "timeout", "request_timeout", "stream", "stream_options", "api_key", "api_base",
    "base_url", "metadata", "max_retries", "num_retries",
})
"""Keyword arguments that say how a request is sent (or is labelled), not what is asked: left out."""
_LONG = 256
"""Strings longer than this are digested once and memoized by identity (strings never change)."""
_MAX_MEMO_REQUEST = 1_024
_long_strings: dict[int, tuple[str, bytes]] = {}
_objects: dict[int, tuple[Any, bytes]] = {}
_SCALARS = (bool, int, float, type(None))


def request_hash(kwargs: Mapping[str, Any]) -> str | None:
    """Hex fingerprint of a request's keyword arguments (those in `_NOT_THE_REQUEST` left out); None when there
    is nothing to fingerprint or a value cannot be read (a dict whose keys cannot be sorted, say)."""
    try:
        fingerprint = blake2b(digest_size=8, key=_REQUEST_KEY)
        update = fingerprint.update
        empty = True
        for name in sorted(kwargs):
            if name in _NOT_THE_REQUEST:
                continue
            empty = False
            update(b"\x00" + name.encode() + b"\x00")
            value = kwargs[name]
            if name in _CONVERSATION:
                _walk(update, value)
            elif isinstance(value, _SCALARS):
                update(b"=" + repr(value).encode() + b"\x00")
            else:
                update(b"#" + _digest(value, _objects, _MAX_MEMO_REQUEST))
        return None if empty else fingerprint.hexdigest()
    except (TypeError, ValueError, RecursionError):  # an unreadable value means no fingerprint, never a lost call
        return None


def _walk(update: Any, value: Any) -> None:
    """Feed a conversation value to the fingerprint: its structure every time, long strings through their memo,
    SDK objects (a response message appended as is) whole, memoized by identity."""
    if isinstance(value, str):
        if len(value) > _LONG:
            update(b"'" + _long_string(value))
        else:
            data = value.encode()
            update(b"'%d:" % len(data) + data)
    elif isinstance(value, _SCALARS):
        update(b"=" + repr(value).encode() + b"\x00")
    elif isinstance(value, dict):
        update(b"{%d" % len(value))
        for key in sorted(value):
            _walk(update, key)
            _walk(update, value[key])
    elif isinstance(value, (list, tuple)):
        update(b"[%d" % len(value))
        for item in value:
            _walk(update, item)
    else:
        update(b"#" + _digest(value, _objects, _MAX_MEMO_REQUEST))


def _long_string(value: str) -> bytes:
    cached = _long_strings.get(id(value))
    if cached is not None and cached[0] is value:
        return cached[1]
    digest = blake2b(value.encode(), digest_size=16).digest()
    if len(_long_strings) >= _MAX_MEMO_REQUEST:
        _long_strings.clear()
    _long_strings[id(value)] = (value, digest)  # the reference keeps the id from being reused
    return digest
