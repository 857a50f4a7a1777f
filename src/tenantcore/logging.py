"""structlog configuration: readable console lines in development, JSON lines in production."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import orjson
import structlog


def configure_logging(fmt: Literal["console", "json"] = "console", level: str = "info") -> None:
    """Route structlog and the standard library (uvicorn, aiosmtpd) through one pipeline."""
    numeric_level = logging.getLevelName(level.upper())
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        renderer: structlog.types.Processor = structlog.processors.JSONRenderer(
            serializer=orjson.dumps
        )
        factory: structlog.types.WrappedLogger = structlog.BytesLoggerFactory()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=structlog.processors.JSONRenderer()
            if fmt == "json"
            else structlog.dev.ConsoleRenderer(colors=False),
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    # One line per outgoing HTTP request is noise at info level (the connector logs retries).
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(noisy).setLevel(max(numeric_level, logging.WARNING))
