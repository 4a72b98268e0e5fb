"""A pause of the cyclic garbage collector while a burst of short-lived containers is built.

Decoding a LIST page or reducing 150,000 pods makes millions of dicts and lists that the cyclic GC
would walk again and again for nothing (none of them forms a cycle); pausing it for the burst
frees nothing later than it would have been freed. Used by the live client and the scheduling
snapshot.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic GC inside the block (and restore it only if it was enabled)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
