"""Shared by the interop peer scripts: JSON lines out, the SDK's log, stdin.

Each script prints one JSON object per line on stdout (flushed at once),
which the test harness (test/support/python-peer.ts) reads and the tests
assert on. Envelopes are printed in their wire shape (``Envelope.to_dict()``),
so a test sees every field the peer read.
"""

import asyncio
import json
import logging
import sys
import time


def emit(**fields):
    """Prints one JSON line on stdout."""
    print(json.dumps(fields, separators=(",", ":")), flush=True)


def elapsed_ms(since):
    """Milliseconds since ``since`` (a ``time.monotonic()`` value)."""
    return round((time.monotonic() - since) * 1000)


class _JsonLines(logging.Handler):
    def emit(self, record):
        emit(type="log", level=record.levelname, logger=record.name,
             message=record.getMessage())


def log_as_json_lines():
    """Sends the SDK's log (``openagentio``, WARNING+) to stdout as JSON."""
    logger = logging.getLogger("openagentio")
    logger.setLevel(logging.WARNING)
    logger.addHandler(_JsonLines())
    logger.propagate = False


async def stdin_reader():
    """An asyncio StreamReader on stdin (lines of up to 16 MiB)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


def error_fields(exc):
    """What a test needs to know about an exception the SDK raised."""
    return {
        "error": type(exc).__name__,
        "message": str(exc),
        "code": getattr(exc, "code", None),
        "retryable": getattr(exc, "retryable", None),
    }
