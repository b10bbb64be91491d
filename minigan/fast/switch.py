"""The switch of the fused paths: ``with fusing():`` turns them on, in this thread only.

``GAN.train_step`` runs inside it: there a plain MLP runs as one op (``minigan.fast.mlp``) and
each cross-entropy loss as one op (``minigan.fast.losses``), with the plain ops' numbers. Outside
it, and so in every graph a learner builds, prints or draws by hand, each op is its own node.
"""

from __future__ import annotations

import contextlib
import threading

__all__ = ["fusing", "fusing_on"]


class _Switch(threading.local):
    on = False  # per thread, like grad mode: a training thread fusing leaves a lab's thread as it is


_switch = _Switch()


@contextlib.contextmanager
def fusing(enabled: bool = True):
    """Inside this block (in this thread) the fused paths run wherever they apply."""
    previous, _switch.on = _switch.on, enabled
    try:
        yield
    finally:
        _switch.on = previous


def fusing_on() -> bool:
    """Whether this thread is inside ``fusing()``."""
    return _switch.on
