"""What the checkpoint of a ``minigan train`` run holds, and the check of every field of it.

``minigan.app.checkpoint`` is the file format (any nested dict of settings and arrays,
verified byte by byte); this module is the schema of one kind of state in it, a run:

    generator, discriminator, opt_g, opt_d,     GAN.state_dict(): weights, Adam's or SGD's state, the step
    step, d_steps, g_steps, g_average, rng,     counters, the RNG, the GAN's configuration
    config
    run        what rebuilds the run: data set, seed, the overridden settings, the MNIST
               file (as an absolute path), the data's fingerprint, the output settings, steps
    history    one column per quantity that GAN.train records, one row per training step
    frames     the snapshots drawn so far (``minigan.app.probe.snapshot``), at most MAX_SNAPSHOTS

``save`` and ``load`` check every field by type and range against ``RUN_STATE``, with the
checks of ``minigan.validate``: a state that ``load`` would refuse is never written, and a
file whose fields are out of range is refused in one line naming the field.

The data's fingerprint (``fingerprint``) is a SHA-256 of what defines the data set the run
trained on; a resume whose data set has another fingerprint is refused, so a run never
continues on other data without a word.
"""

from __future__ import annotations

import hashlib
from functools import partial

import numpy as np  # host side: the state's arrays are host arrays

from minigan import validate
from minigan.app import checkpoint, presets
from minigan.app.checkpoint import CheckpointError, Schema, SchemaError

__all__ = ["OVERRIDABLE", "MAX_FRAMES", "MAX_SNAPSHOTS", "GAN_STATE", "RUN_STATE", "fingerprint", "thin", "save",
           "load"]

OVERRIDABLE = ("loss", "k", "batch_size", "lr_g", "lr_d", "latent_dim", "noise")  # GANConfig fields a run may set
MAX_FRAMES = 500  # snapshots a run may ask for (--frames): a GIF of 2 minutes at 4 frames a second
MAX_SNAPSHOTS = MAX_FRAMES + 2  # the first, one every ceil(steps / frames) steps, and the last


def _gan_config(name, value, complete: bool = True):
    """``value`` as GANConfig fields (all of them if ``complete``), checked by GANConfig itself."""
    from minigan.gan import GANConfig  # the run's settings are checked by the class that holds them

    if not isinstance(value, dict):
        raise ValueError(f"{name}: expected a record of GAN settings, got {validate.brief(value)}")
    missing = sorted(set(GANConfig.__dataclass_fields__) - set(value))
    if complete and missing:
        raise ValueError(f"{name}: missing {', '.join(map(repr, missing))}")
    settings = dict(value)
    if isinstance(settings.get("betas"), list):
        settings["betas"] = tuple(settings["betas"])  # JSON has no tuples
    try:
        GANConfig(**settings)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{name}: {exc}") from None


def _overrides(name, value):
    if not isinstance(value, dict) or not set(value) <= set(OVERRIDABLE):
        raise ValueError(f"{name}: expected settings among {', '.join(OVERRIDABLE)}, got {validate.brief(value)}")
    _gan_config(name, value, complete=False)  # each one a value GANConfig accepts


def _rng_state(name, value):
    if not isinstance(value, dict) or set(value) != {"bit_generator", "state", "has_uint32", "uinteger"}:
        raise ValueError(f"{name}: expected the state of a PCG64 generator, got {validate.brief(value)}")
    inner = value["state"]
    if not isinstance(inner, dict) or set(inner) != {"state", "inc"}:
        raise ValueError(f"{name}: expected the state of a PCG64 generator, got {validate.brief(value)}")
    for key, number in (("has_uint32", value["has_uint32"]), ("uinteger", value["uinteger"]), *inner.items()):
        validate.count(f"{name}/{key}", number)
    try:
        np.random.PCG64().state = value  # NumPy checks every field of the generator's state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ValueError(f"{name}: not the state of a PCG64 generator ({exc})") from None


def _number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {validate.brief(value)}")


def _frame(name, value):
    """A snapshot of ``minigan.app.probe``: its step counters, whether D is a critic, and numbers
    and host arrays about G and D at that step."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name}: expected a snapshot (a table of arrays), got {validate.brief(value)}")
    if "step" not in value:
        raise ValueError(f"{name}: has no step")
    for key, item in value.items():
        if key in ("step", "d_steps", "g_steps"):
            validate.count(f"{name}/{key}", item)
        elif key == "critic":
            validate.flag(f"{name}/{key}", item)
        elif isinstance(item, np.ndarray):
            validate.array(f"{name}/{key}", item, finite=False)
        else:
            _number(f"{name}/{key}", item)


def _history(name, value):
    if not isinstance(value, dict) or not all(isinstance(v, np.ndarray) for v in value.values()):
        raise ValueError(f"{name}: expected a table of columns, got {validate.brief(value)}")
    if len({v.shape for v in value.values()}) > 1 or any(v.ndim != 1 or v.dtype.kind != "f" for v in value.values()):
        raise ValueError(f"{name}: expected float columns of one length")
    if value and "step" not in value:
        raise ValueError(f"{name}: has no 'step' column")


def _mnist_path(name, value):
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be the path of a file, got {validate.brief(value)}")


def _at_most(limit):
    def check(name, value):
        if validate.positive_int(name, value) > limit:
            raise ValueError(f"{name} must be at most {limit}, got {value}")
    return check


floats = partial(validate.array, kinds="f")

ADAM = {"type": Schema.choice("Adam"),
        "hyperparameters": {"lr": validate.positive_number, "betas": Schema.each(validate.fraction, length=2),
                            "eps": validate.positive_number},
        "steps": Schema.each(validate.count),
        "buffers": {"m": Schema.each(floats), "v": Schema.each(floats)}}
SGD = {"type": Schema.choice("SGD"),  # the GAN paper's MNIST preset learns by SGD with momentum
       "hyperparameters": {"lr": validate.positive_number, "momentum": validate.fraction},
       "steps": Schema.each(validate.count),
       "buffers": {"velocity": Schema.each(floats)}}
OPTIMISER = Schema.tagged("type", {"Adam": ADAM, "SGD": SGD})

GAN_STATE = {
    "generator": Schema.table(floats),
    "discriminator": Schema.table(floats),
    "opt_g": OPTIMISER,
    "opt_d": OPTIMISER,
    "step": validate.count,
    "d_steps": validate.count,
    "g_steps": validate.count,
    "g_average": Schema.maybe(Schema.table(floats, least=1)),  # None, or θ̄_G: one array per parameter of G
    "rng": _rng_state,
    "config": _gan_config,
}
"""What ``GAN.state_dict()`` holds: finite float weights, Adam with a positive finite
learning rate and betas in [0, 1), step counters ≥ 0, a PCG64 state, settings GANConfig accepts."""

RUN_STATE = Schema({
    **GAN_STATE,
    "run": {
        "data": Schema.choice(*presets.PRESETS),
        "seed": validate.count,
        "overrides": _overrides,
        "mnist_path": _mnist_path,
        "data_fingerprint": Schema.maybe(validate.sha256),
        "output": {"log_every": validate.positive_int, "frames": _at_most(MAX_FRAMES),
                   "checkpoint_every": validate.positive_int},
        "steps": validate.positive_int,
    },
    "history": _history,
    "frames": Schema.each(_frame, most=MAX_SNAPSHOTS),
})
"""What ``minigan train`` saves: the GAN's state, the run's settings, its history and frames."""


def fingerprint(dataset) -> str:
    """The SHA-256 (hex) of what defines ``dataset``: every sample of a finite data set (MNIST,
    the digits), or the means, spreads and weights of a mixture of Gaussians; for any other
    sampler, 4,096 samples drawn with seed 0. Equal fingerprints: the same data."""
    if hasattr(dataset, "samples"):
        parts = [dataset.samples]
    elif all(hasattr(dataset, name) for name in ("means", "stds", "weights")):
        parts = [dataset.means, dataset.stds, dataset.weights]
    else:
        parts = [dataset.sample(4096, np.random.default_rng(0))]
    digest = hashlib.sha256()
    for part in parts:
        part = np.ascontiguousarray(part, dtype=np.float64)
        digest.update(repr(part.shape).encode())
        digest.update(part.data)
    return digest.hexdigest()


def thin(snapshots: list, most: int = MAX_SNAPSHOTS) -> list:
    """At most ``most`` of ``snapshots``, evenly spaced, the first and the last kept. A run holds
    at most MAX_SNAPSHOTS; only a run resumed for more steps than it started with gathers more."""
    if len(snapshots) <= most:
        return list(snapshots)
    return [snapshots[i] for i in np.linspace(0, len(snapshots) - 1, most).round().astype(int)]


def save(path, state: dict):
    """Write a run's ``state`` to ``path`` (atomically), once every field is checked."""
    return checkpoint.save(path, state, RUN_STATE)


def load(path) -> dict:
    """The run saved at ``path``, every field checked; a CheckpointError naming the file and
    the field if it is not a run's checkpoint or anything in it is out of range."""
    state = checkpoint.load(path)
    if not isinstance(state.get("run"), dict):
        raise CheckpointError(f"{path} was not written by `minigan train` "
                              "(it has no record of the run), so it cannot be resumed from here")
    # runs saved before runs recorded their data, or before the number of snapshots was bounded
    state["run"].setdefault("data_fingerprint", None)
    output = state["run"].get("output")
    if isinstance(output, dict) and isinstance(output.get("frames"), int) and output["frames"] > MAX_FRAMES:
        output["frames"] = MAX_FRAMES
    if isinstance(state.get("frames"), list):
        state["frames"] = thin(state["frames"])
    try:
        RUN_STATE.check(state)
    except SchemaError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    return state
