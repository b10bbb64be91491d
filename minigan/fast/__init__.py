"""Beside the teaching path: machinery for speed that the chapters do not need to be read through.

    fused     an optimiser's rule applied to all its parameters at once, kept in one flat array
              (the default of ``minigan.optim``; block by block on the CPU), with an exact undo
              of the last update
    switch    ``fusing()``: where the two below run (``GAN.train_step`` turns it on, in its thread)
    mlp       a plain multilayer perceptron as one op of the graph (``nn.Sequential`` asks it
              first), with the plain ops' values and gradients
    losses    each cross-entropy loss of D and G as one op (``minigan.games`` asks it first),
              with the plain ops' values and gradients
    counting  a NumPy that counts every array operation (each would be a kernel launch on a GPU),
              for the benchmarks

Each is tested equal to the plain code it stands in for (``tests/test_fast_paths.py``,
``tests/test_fused_mlp.py``, ``tests/test_fused_losses.py``).
"""

from minigan.fast import mlp  # nn.Sequential reaches it as minigan.fast.mlp
