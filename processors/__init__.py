"""The derivation core's in-process entry point: a span processor (see docs/metrics.md)."""
