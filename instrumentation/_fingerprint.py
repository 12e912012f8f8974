"""A privacy-safe fingerprint of the cacheable prompt prefix: the system prompt and the tool definitions.

Providers cache the longest stable prefix of a prompt; when the system prompt or the tools change, the
cache breaks. The fingerprint lets the derivation core see that happen without the text ever leaving
the process. Agents send the same system prompt and tool list on every call, so each part is hashed
once: strings are memoized by value, other objects by identity (a list mutated in place keeps its old
fingerprint until it is replaced).
"""

from __future__ import annotations

import json
from hashlib import blake2b
from typing import Any

__all__ = ["prefix_hash"]

_MAX_MEMO = 512
_by_value: dict[str, bytes] = {}
_by_identity: dict[int, tuple[Any, bytes]] = {}
_combined: dict[tuple[bytes, ...], str] = {}


def _default(obj: Any) -> Any:
    dump = getattr(obj, "model_dump", None)
    if dump is not None:
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
