"""Helpers for the device tests (a uniquely named module: other test folders have their own conftest)."""


def data_events(queue, source, count, timeout=10.0):
    """The next `count` DATA or ERROR events from `source` (status events are skipped)."""
    found = []
    while len(found) < count:
        event = queue.wait_for(lambda e: e.source == source and e.kind in ("data", "error"), timeout)
        assert event is not None, f"only {len(found)} of {count} events arrived: {found}"
        found.append(event)
    return found


def crashing_decoder():
    """A decoder for the child process that dies like libzbar on an assertion when it sees the code CRASH."""
    import os

    from devices.camera import zxing_decoder

    decode = zxing_decoder()

    def crashing(gray):
        found = decode(gray)
        if any(text == "CRASH" for text, *_ in found):
            os.abort()
        if any(text == "RAISE" for text, *_ in found):
            raise MemoryError("decoder ran out of memory")
        return found

    return crashing
