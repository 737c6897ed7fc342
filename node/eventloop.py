"""The event loop a serving process runs (`server.event_loop`)."""

from __future__ import annotations

import asyncio
import importlib.util


def chosen(choice: str) -> str:
    """The loop `choice` ("uvloop", "asyncio", or "auto": uvloop where it is installed) runs:
    "uvloop" or "asyncio". uvloop's sockets, timers and callbacks cost less of the processor
    per request; Python's own loop stays for where uvloop does not build."""
    if choice == "uvloop" or (choice == "auto" and importlib.util.find_spec("uvloop")):
        return "uvloop"
    return "asyncio"


def new_loop(choice: str) -> asyncio.AbstractEventLoop:
    if chosen(choice) == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()
