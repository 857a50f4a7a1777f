"""Measurement helpers for the usage-sync benchmark (`benchmarks.usage_sync`).

What a cycle reads about the process besides the sandbox's call counters: its resident set
(now, and the kernel's high-water mark, which can be reset so each cycle's peak is its own),
the number of jobs the embedded queue has deferred, and a cProfile run summarised per component
(TenantCore, the in-process sandbox, the job queue, SQLAlchemy, ...).
"""

from __future__ import annotations

import cProfile
import io
import pstats
import resource
from pathlib import Path
from typing import Any

from procrastinate.testing import InMemoryConnector

from benchmarks.stack import Stack

# --- memory -------------------------------------------------------------------------------


def rss_kb() -> int:
    """The process's resident set now (VmRSS), in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def peak_rss_kb() -> int:
    """getrusage's peak RSS (KB on Linux), since the start or since `reset_peak_rss`."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (Linux >= 4.0: `5` to /proc/self/clear_refs), so
    each cycle's peak is its own and not the seeding's. False when the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- job queue ----------------------------------------------------------------------------


def jobs_queued(stack: Stack) -> int | None:
    """Jobs queued so far in the embedded (SQLite) queue: procrastinate's in-memory connector
    keeps every job's event list after the job is deleted, one per job ever deferred. None on
    PostgreSQL."""
    connector = stack.context.jobs.app.connector
    if isinstance(connector, InMemoryConnector):
        return len(connector.events)
    return None


# --- profile ------------------------------------------------------------------------------

# Where a function's file lives -> the component it is counted under (first match wins).
COMPONENTS = (
    ("/tenantcore/sandbox/", "sandbox (emulated Microsoft)"),
    ("/tenantcore/", "TenantCore"),
    ("/procrastinate/", "procrastinate (job queue)"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/aiosqlite/", "aiosqlite"),
    ("/starlette/", "starlette (sandbox's ASGI)"),
    ("/httpx2/", "httpx2"),
    ("/pydantic", "pydantic"),
    ("/structlog/", "structlog"),
    ("/json/", "json"),
    ("/asyncio/", "asyncio"),
    ("/selectors.py", "asyncio"),
    ("/benchmarks/", "benchmark's own polling"),
)


def _component(filename: str) -> str:
    for marker, name in COMPONENTS:
        if marker in filename:
            return name
    return "other"


def profile_summary(profiler: cProfile.Profile) -> str:
    """Own time (tottime) per component, C built-ins charged to their Python callers; then the
    top functions. cProfile sees the event loop's thread only (not aiosqlite's SQLite thread),
    and an async function's `ncalls` counts each resumption."""
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    own: dict[str, float] = {}
    for (filename, _, function), (_, _, tottime, _, callers) in raw.items():
        if "select.epoll" in function:
            own["idle: waiting in epoll"] = own.get("idle: waiting in epoll", 0.0) + tottime
            continue
        if filename != "~":
            name = _component(filename)
            own[name] = own.get(name, 0.0) + tottime
            continue
        if not callers:
            own["other"] = own.get("other", 0.0) + tottime
            continue
        for (caller_file, _, _), (_, _, caller_tt, _) in callers.items():
            name = _component(caller_file)
            own[name] = own.get(name, 0.0) + caller_tt
    total = sum(own.values()) or 1.0
    lines = ["| component | own CPU s (profiled) | share |", "|---|---|---|"]
    for name, seconds in sorted(own.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds:.1f} | {seconds / total:.0%} |")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return "\n".join(lines) + "\n\n" + out.getvalue()
