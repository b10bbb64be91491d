"""The divergence guard: after each update, one look at every number of the step.

A GAN's ``d_step`` and ``g_step`` hand their losses and optimiser here. The step's numbers
(losses, D's mean outputs, the gradient norm) and a finiteness check of the updated
parameters and optimiser state are gathered into one array on the device and copied to the
host once (one wait for a GPU per update). If anything is NaN or infinite, the update is
undone (``optimizer.undo_step()``) and a ``DivergenceError`` names the step and the quantity;
otherwise the numbers come back as Python floats, the record of the step.
"""

from __future__ import annotations

import math

from minigan import backend

__all__ = ["DivergenceError", "checked_record", "gradient_norm", "all_finite"]


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite number: a loss, a gradient, or a parameter or
    optimiser state after the update.

    That update was undone (where it could be: ``undone``): the network and its optimiser
    hold their last finite state. D-steps taken earlier in the same training step were kept,
    so to continue, go back to the last checkpoint (the command line keeps it).
    """

    def __init__(self, step: int, quantity: str, value: float, where: str = "", undone: bool = True):
        self.step, self.quantity, self.value, self.undone = step, quantity, value, undone
        outcome = "that update was undone" if undone else "that update could not be undone"
        super().__init__(f"training diverged at step {step}{where}: {quantity} is {value}; {outcome} "
                         "(try lower learning rates)")


def gradient_norm(optimizer):
    """‖∇θ‖₂ of the gradients the last update used (every parameter with a gradient), as a
    one-element array on the device, not yet read back. One reduction after a fused update."""
    fused = optimizer.fused
    if fused is not None and fused.last is not None:  # the gradients it gathered for that update
        g = fused.gradient
        return backend.array_module(g).sqrt(backend.array_module(g).vdot(g, g))
    xp = backend.array_module(optimizer.params[0].data)
    grads = [p.grad.data for p in optimizer.params if p.grad is not None]
    return xp.sqrt(sum(xp.vdot(g, g) for g in grads)) if grads else xp.zeros((), optimizer.params[0].dtype)


def all_finite(optimizer, exact: bool = True):
    """True (a one-element boolean array, not yet read back) if every parameter and every state
    buffer is finite: one reduction per flat array after a fused update.

    ``exact=False``: whether Σa² of each array is finite, one pass of BLAS's dot product with no
    temporary array. Any NaN or infinity makes it NaN or inf; finite values make it finite unless
    they are huge (|a| above about 1e19 in float32), so False then needs the exact check to be sure.
    """
    fused = optimizer.fused
    if fused is not None and fused.intact():
        arrays = [fused.theta, *fused.banks[fused.bank].values()]
    else:
        arrays = [p.data for p in optimizer.params] + [b for state in optimizer.state for b in state.values()]
    xp = backend.array_module(arrays[0])
    if not exact:
        return xp.isfinite(xp.stack([xp.vdot(a, a) for a in arrays]).sum())
    return xp.all(xp.stack([xp.isfinite(a).all() for a in arrays]))


def checked_record(quantities: dict, optimizer, player: str, step: int, where: str) -> dict:
    """{name: float} of ``quantities`` (one-element Tensors) and the gradient norm
    ``grad_norm_<player>``, read back at once; a DivergenceError (after undoing the update) if
    any of them, or the parameters or state after the update, is not finite."""
    names = [*quantities, f"grad_norm_{player}", f"{player.upper()}'s parameters or optimiser state"]
    scalars = [q.data for q in quantities.values()] + [gradient_norm(optimizer)]
    xp, dtype = backend.array_module(scalars[0]), scalars[0].dtype
    scalars.append(xp.where(all_finite(optimizer, exact=False), 0.0, math.nan))  # 0 if all finite, else NaN
    values = backend.to_numpy(xp.stack([xp.asarray(v, dtype=dtype) for v in scalars])).tolist()  # one read-back
    for name, value in zip(names, values):
        if math.isfinite(value) or (name == names[-1] and bool(all_finite(optimizer))):
            continue  # (the last: only Σa² overflowed, on huge values that are all finite)
        try:
            optimizer.undo_step()
            undone = True
        except RuntimeError:  # it updated the parameters one by one: nothing kept to undo it with
            undone = False
        raise DivergenceError(step, name, value, where, undone)
    return dict(zip(names[:-1], values[:-1]))
