"""A lab session without the window: its settings, the GAN they build, rounds, the numbered
sub-steps of slow motion, and saving and loading.

``minigan.app.lab`` draws a session and wires its widgets to it; everything that changes the
model happens here, so it is the same in a desktop window, a browser tab and a notebook.

A **round** is GAN Lab's epoch (Kahng et al. 2018): k_d D-steps, then k_g G-steps. With
k_g = 1 it is exactly ``GAN.train_step()``, which the round calls; more G-steps follow it.

**Slow motion** walks through one round a numbered sub-step at a time, with the numbers and
words of the algorithm in ``minigan.gan`` (Goodfellow et al. 2014, Algorithm 1; ``ALGORITHM``
quotes them from its docstring). Sub-steps 1-4 and 6-8 show the batch and the loss that the
next ``d_step()`` or ``g_step()`` is about to use: they are done one at a time, as
``gan.d_loss`` and ``gan.g_loss`` do them, with a copy of the run's random generator, which
draws exactly what the step itself will draw (a test checks that the losses agree).
Sub-steps 5 and 9 are that step.

**Settings** go through their checks before anything changes (``Settings`` and
``GANConfig`` check every field), so a bad value leaves the session as it was. Changing the
data, the networks or the noise builds a new GAN (as GAN Lab does); a learning rate, k or
the game changes the running GAN's configuration; an optimiser change gives that network a
fresh optimiser and keeps its weights.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np  # host side: the drawing, the charts' columns

from minigan import data as datasets
from minigan import gan as gan_module
from minigan import optim, validate
from minigan.app import checkpoint, presets
from minigan.autograd import no_grad
from minigan.gan import GAN, GANConfig, make_networks

__all__ = ["Settings", "Session", "SubStep", "ALGORITHM", "OPTIMIZERS", "LIMITS", "numbered_steps"]

OPTIMIZERS = ("Adam", "SGD")
LIMITS = {"k_d": (1, 10), "k_g": (1, 10), "layers_d": (0, 4), "layers_g": (0, 4),  # GAN Lab's own ranges
          "neurons_d": (1, 128), "neurons_g": (1, 128), "latent_dim": (1, 2)}
REBUILDS = ("data", "seed", "layers_d", "layers_g", "neurons_d", "neurons_g", "noise", "latent_dim", "batch_size")
FORMAT = "minigan-lab"  # the mark of a saved lab in its checkpoint file


def numbered_steps(doc: str) -> dict[int, str]:
    """{number: text} of the numbered lines of ``doc`` ("5. update D's ..."), continuation lines joined."""
    steps, current, indent = {}, None, 0
    for line in doc.splitlines():
        numbered = re.match(r"^(\s*)(\d+)\. (.*)", line)
        if numbered:
            current, indent = int(numbered[2]), len(numbered[1])
            steps[current] = numbered[3].strip()
        elif current is not None and line.strip() and len(line) - len(line.lstrip()) > indent:
            steps[current] += " " + line.strip()
        else:
            current = None
    return steps


ALGORITHM = numbered_steps(gan_module.__doc__)  # the nine steps, in gan.py's own words


@dataclass(frozen=True)
class Settings:
    """Everything a lab session is made of; every field is checked when the settings are made."""

    data: str = "ring"  # one of presets.LAB_DATA_SETS ('drawn': the session's drawing)
    loss: str = "non_saturating"  # the game: one of minigan.games.LOSSES
    seed: int = 0
    optimizer_d: str = "Adam"
    optimizer_g: str = "Adam"
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    k_d: int = 1  # D-steps per round (GANConfig.k)
    k_g: int = 1  # G-steps per round
    layers_d: int = 2  # hidden layers
    layers_g: int = 2
    neurons_d: int = 64  # neurons in each hidden layer
    neurons_g: int = 64
    noise: str = "normal"  # p_z, as GANConfig.noise
    latent_dim: int = 2  # 1 or 2, as in GAN Lab
    batch_size: int = 256

    def __post_init__(self):
        validate.one_of("data set", self.data, presets.LAB_DATA_SETS)
        for name in ("optimizer_d", "optimizer_g"):
            validate.one_of(name.replace("_", " of "), getattr(self, name), OPTIMIZERS)
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
            object.__setattr__(self, name, int(value))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a whole number ≥ 0, got {self.seed!r}")
        self.config()  # GANConfig checks the game, the learning rates, k, the batch and the noise

    def config(self) -> GANConfig:
        """The GAN's configuration: no averaging of G's weights and no decay, so every step shows."""
        return GANConfig(loss=self.loss, k=self.k_d, batch_size=self.batch_size, latent_dim=self.latent_dim,
                         noise=self.noise, lr_d=self.lr_d, lr_g=self.lr_g)

    def replace(self, **changes) -> Settings:
        """New settings with ``changes``, checked; unknown names are refused."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown lab setting {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(f.name for f in dataclasses.fields(self))}")
        return dataclasses.replace(self, **changes)


@dataclass
class SubStep:
    """One numbered step of the algorithm in slow motion: its number, its words, what it shows."""

    number: int
    shows: dict  # 'real', 'fake': host arrays of the batch; losses: numbers; after 5 and 9, the step's record

    @property
    def text(self) -> str:
        return ALGORITHM[self.number]


def _optimizer(kind: str, params, lr: float, betas) -> optim.Optimizer:
    return optim.Adam(params, lr=lr, betas=betas) if kind == "Adam" else optim.SGD(params, lr=lr)


def build_gan(settings: Settings, drawing: np.ndarray | None = None) -> GAN:
    """A fresh GAN for ``settings`` (``drawing``: the points of a drawn distribution)."""
    if settings.data == "drawn":
        if drawing is None or len(drawing) == 0:
            raise ValueError("the drawn data set needs a drawing: draw some points first")
        data = datasets.drawn(drawing)
    else:
        data = datasets.make(settings.data)
    config = settings.config()
    # G and D draw their first weights from generators of their own, so changing one network
    # leaves the other's start as it was. make_networks builds both each time; the other is unused.
    G, _ = make_networks(data, config.latent_dim, hidden=settings.neurons_g, depth=settings.layers_g,
                         rng=np.random.default_rng([settings.seed, 0]))
    _, D = make_networks(data, config.latent_dim, hidden=settings.neurons_d, depth=settings.layers_d,
                         standardize=True, rng=np.random.default_rng([settings.seed, 1]))
    gan = GAN(G, D, data, config, rng=np.random.default_rng([settings.seed, 2]))
    gan.opt_d = _optimizer(settings.optimizer_d, D.parameters(), config.lr_d, config.betas)
    gan.opt_g = _optimizer(settings.optimizer_g, G.parameters(), config.lr_g, config.betas)
    return gan


class Session:
    """The lab's model side: ``settings``, the ``gan`` they built, the ``drawing``, and the
    records of every step taken (``records['d']``, ``records['g']``: (count, record) pairs)."""

    def __init__(self, settings: Settings | None = None, drawing=None):
        self.settings = settings or Settings()
        self.drawing = None if drawing is None else np.asarray(drawing, dtype=np.float64).reshape(-1, 2)
        self.reset()

    def reset(self) -> None:
        """A fresh GAN from the settings (the same seed: the same first weights), no records."""
        self.gan = build_gan(self.settings, self.drawing)
        self.records = {"d": [], "g": []}

    def change(self, **changes) -> str:
        """Apply checked setting changes; returns what they did: 'rebuilt', 'changed' or 'nothing'."""
        new = self.settings.replace(**changes)
        changed = {name for name in changes if getattr(new, name) != getattr(self.settings, name)}
        if not changed:
            return "nothing"
        if changed & set(REBUILDS):
            old, self.settings = self.settings, new
            try:
                self.reset()
            except ValueError:  # e.g. the drawn data set before anything was drawn
                self.settings = old
                raise
            return "rebuilt"
        gan, config = self.gan, new.config()
        if "optimizer_d" in changed:
            gan.opt_d = _optimizer(new.optimizer_d, gan.D.parameters(), config.lr_d, config.betas)
        if "optimizer_g" in changed:
            gan.opt_g = _optimizer(new.optimizer_g, gan.G.parameters(), config.lr_g, config.betas)
        gan.config = config
        gan.opt_d.lr, gan.opt_g.lr = config.lr_d, config.lr_g
        self.settings = new
        return "changed"

    def use_drawing(self, points) -> None:
        """Train on the drawn ``points`` from now on: a new GAN for the drawn data set."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        datasets.drawn(points)  # refuses an empty drawing before anything changes
        old = self.settings, self.drawing
        self.settings, self.drawing = self.settings.replace(data="drawn"), points
        try:
            self.reset()
        except ValueError:
            self.settings, self.drawing = old
            raise

    # -- steps

    def _keep(self, record: dict) -> dict:
        if "loss_d" in record:
            self.records["d"].append((self.gan.d_steps, record))
        if "loss_g" in record:
            self.records["g"].append((self.gan.g_steps, record))
        return record

    def step_d(self) -> dict:
        return self._keep(self.gan.d_step())

    def step_g(self) -> dict:
        return self._keep(self.gan.g_step())

    def round(self) -> dict:
        """k_d D-steps, then k_g G-steps: ``gan.train_step()`` and k_g - 1 more G-steps."""
        record = self._keep(self.gan.train_step())
        for _ in range(self.settings.k_g - 1):
            record = {**record, **self.step_g()}
        return record

    def substeps(self):
        """One round in slow motion: yields a ``SubStep`` per numbered step (1-5 for each D-step,
        6-9 for each G-step); 5 and 9 take the step when they are reached."""
        for _ in range(self.settings.k_d):
            yield from self._d_step_in_substeps()
        for _ in range(self.settings.k_g):
            yield from self._g_step_in_substeps()

    def _d_step_in_substeps(self):
        """Steps 1-4 done one at a time, as ``gan.d_loss`` does them, on a copy of the run's random
        generator: the very batch and loss that ``d_step()`` then draws and computes in step 5."""
        gan, rng = self.gan, copy.deepcopy(self.gan.rng)
        z = gan.sample_noise(gan.config.batch_size, rng)
        yield SubStep(1, {})
        real = gan.sample_real(gan.config.batch_size, rng)
        yield SubStep(2, {"real": real.numpy()})
        with no_grad():
            fake = gan.G(z)
        yield SubStep(3, {"fake": fake.numpy()})
        loss = gan.discriminator_loss(gan.D, real, fake, rng=rng)  # with a graph: WGAN-GP's penalty needs one
        yield SubStep(4, {"loss_d_real": loss.real.item(), "loss_d_fake": loss.fake.item(),
                          "loss_d": loss.total.item()})
        yield SubStep(5, self.step_d())

    def _g_step_in_substeps(self):
        """Steps 6-8 one at a time, as ``gan.g_loss`` does them (a copy of the generator: the batch
        ``g_step()`` then uses in step 9)."""
        gan, rng = self.gan, copy.deepcopy(self.gan.rng)
        with no_grad():
            z = gan.sample_noise(gan.config.batch_size, rng)
            yield SubStep(6, {})
            fake = gan.G(z)
            yield SubStep(7, {"fake": fake.numpy()})
            loss = gan.generator_loss(gan.D(fake))
        yield SubStep(8, {"loss_g": loss.item()})
        yield SubStep(9, self.step_g())

    # -- saving and loading

    def state(self) -> dict:
        """What ``save`` writes: the settings, the GAN's whole state, the drawing and the charts."""
        charts = {key: np.array([[count, *(record[name] for name in columns)] for count, record in self.records[key]],
                                dtype=np.float64).reshape(-1, 1 + len(columns))
                  for key, columns in CHART_COLUMNS.items()}
        return {"format": FORMAT, "settings": dataclasses.asdict(self.settings), "gan": self.gan.state_dict(),
                "drawing": self.drawing, "charts": charts}

    def save(self, path) -> Path:
        """Write the session to ``path`` in minigan's checkpoint format (atomically)."""
        return checkpoint.save(path, self.state())

    @classmethod
    def load(cls, path) -> Session:
        """The session saved in ``path``; a file that is not one is refused with a ValueError."""
        state = checkpoint.load(path)
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path}: not a saved lab (saved by minigan lab's save button or Session.save)")
        try:
            settings = Settings(**state["settings"])
            session = cls(settings, state["drawing"])
            session.gan.load_state_dict(state["gan"])
            for key, columns in CHART_COLUMNS.items():
                rows = np.asarray(state["charts"][key], dtype=np.float64).reshape(-1, 1 + len(columns))
                session.records[key] = [(int(row[0]), dict(zip(columns, map(float, row[1:]), strict=True)))
                                        for row in rows if math.isfinite(row[0])]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: a saved lab that does not fit ({exc})") from None
        return session


CHART_COLUMNS = {"d": ("loss_d", "d_real", "d_fake"), "g": ("loss_g",)}  # what the charts draw, saved with a session
