"""Messages to the person running a long job: one line each, only when ``progress`` is on."""


from __future__ import annotations


def say(progress: bool, message: str) -> None:
    """Print ``message`` now (flushed) if ``progress``."""
    if progress:
        print(message, flush=True)
