"""GAN training, written out: the algorithm, one numbered step at a time.

Put the training loop of Goodfellow et al. (2014), Algorithm 1, beside ``d_step`` and
``g_step`` and tick it off, line by line:

    for each training step:
        k times, a D-step (the paper's k; it used k = 1):
            1. sample a minibatch of m noise samples z ~ p_z
            2. sample a minibatch of m real examples x ~ p_data
            3. fake = G(z), detached: the D-step must not send gradients into G
            4. D on real and on fake: L_D = L_D,r + L_D,f, D's loss on each half of the batch
            5. update D's parameters θ_D to lower L_D (the paper ascends V; same thing)
        one G-step:
            6. sample a new minibatch z ~ p_z
            7. fake = G(z), this time in the graph: G(z) is just another layer's output
            8. D on fake, with D frozen: L_G, one of the generator losses
            9. update G's parameters θ_G to lower L_G: the gradient flows back through D,
               through G(z), into θ_G, while D's parameters get no gradient and do not move

``d_loss`` and ``g_loss`` build the loss of each step (steps 1-4 and 6-8) with its graph
and update nothing (pass them an ``rng`` of your own to leave the run's random stream as it
was too); ``d_step`` and ``g_step`` differentiate that loss and update (steps 5 and 9).
The game is one of minigan.games.LOSSES: a classifier D with the 'minimax',
'non_saturating' or 'max_likelihood' generator loss, 'least_squares', D regressing a score
(Mao et al. 2017), or 'wgan_gp', a critic with a Wasserstein loss and a gradient penalty
(Gulrajani et al. 2017).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from dataclasses import asdict, dataclass, field

import numpy as np  # host-side: the history's columns, the dtype's range

from minigan import backend, games, guard, nn, ops, optim, validate
from minigan.autograd import Tensor, no_grad
from minigan.averaging import WeightAverage
from minigan.fast.switch import fusing
from minigan.guard import DivergenceError
from minigan.rng import resolve

__all__ = ["GANConfig", "GAN", "History", "DivergenceError", "LOSSES", "NOISE", "make_networks"]

LOSSES = games.LOSSES
NOISE = ("normal", "uniform")


@dataclass
class GANConfig:
    """Everything that defines a training run besides the networks and the data."""

    loss: str = "non_saturating"  # a generator loss, 'least_squares' or 'wgan_gp'
    k: int = 1  # D-steps per G-step
    batch_size: int = 256  # m: samples of z and of x per step
    latent_dim: int = 2  # size of z
    noise: str = "normal"  # p_z: 'normal' N(0, I) or 'uniform' U(-1, 1)
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    betas: tuple = optim.GAN_BETAS  # Adam's (β₁, β₂) for both players
    real_label_smoothing: float = 0.0  # one-sided: real targets 1 -> 1 - s/2
    gp_weight: float = 10.0  # λ of the gradient penalty ('wgan_gp' only)
    dtype: str = "float32"
    # remedies for blurred samples (benchmarks/quality.py measures each; all off by default)
    g_average: float = 0.0  # β of the moving average of G's weights that makes the samples; 0: off
    lr_decay_from: int = 0  # with lr_decay_to: from this step on, both learning rates fall linearly ...
    lr_decay_to: int = 0  # ... to 0 at this step (0, 0: no decay)

    def __post_init__(self):
        validate.one_of("loss", self.loss, LOSSES)
        validate.one_of("noise prior", self.noise, NOISE)
        validate.one_of("dtype", self.dtype, ("float32", "float64"))
        for name in ("k", "batch_size", "latent_dim"):
            setattr(self, name, validate.positive_int(name, getattr(self, name)))
        smallest, largest = float(np.finfo(self.dtype).tiny), float(np.finfo(self.dtype).max)
        for name in ("lr_g", "lr_d", "gp_weight"):
            value = validate.positive_number(name, getattr(self, name))
            if value > largest:  # finite as a Python float, inf once it meets the run's arrays
                raise ValueError(f"{name} = {value:g} overflows {self.dtype} (largest {largest:.3g}); "
                                 "choose a smaller value")
            if value < smallest:  # positive as a Python float, 0 (or nearly) once it meets the run's arrays
                raise ValueError(f"{name} = {value:g} is below the smallest normal {self.dtype} ({smallest:.3g}): "
                                 "there it would round to 0 or lose its precision; choose a larger value")
            setattr(self, name, value)
        self.real_label_smoothing = validate.fraction("real_label_smoothing", self.real_label_smoothing)
        self.betas = optim.Adam.check_betas(self.betas)
        self.g_average = validate.fraction("g_average", self.g_average)
        for name in ("lr_decay_from", "lr_decay_to"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a step number (an integer ≥ 0), got {value!r}")
            setattr(self, name, int(value))
        if self.lr_decay_to and self.lr_decay_to <= self.lr_decay_from:
            raise ValueError(f"lr_decay_to ({self.lr_decay_to}) must come after lr_decay_from ({self.lr_decay_from})")

    def lr_factor(self, step: int) -> float:
        """How much of the learning rates a step uses: 1 before ``lr_decay_from``, then falling
        linearly to 0 at ``lr_decay_to`` (small steps at the end stop the players' jitter)."""
        if not self.lr_decay_to:
            return 1.0
        return min(1.0, max(0.0, (self.lr_decay_to - step) / (self.lr_decay_to - self.lr_decay_from)))

    def as_dict(self) -> dict:
        return asdict(self)


def make_networks(data, latent_dim: int, hidden=128, depth: int = 2, generator_depth: int | None = None,
                  standardize: bool = False, dtype: str = "float32", rng=None):
    """The MLP generator and discriminator of the classic papers, sized for ``data``.

    G: z (latent_dim) -> hidden ReLU layers -> data.dim, linear output (tanh for images
       in [-1, 1]); generator_depth=0 makes G affine, z ↦ a z + b, exactly the family of
       Gaussians
    D: x -> [``standardize``: (x - mean) / std of the data] -> hidden LeakyReLU(0.2)
       layers -> 1 logit
    ``hidden`` is one width for every hidden layer (``depth`` of them in D, ``generator_depth``,
    default ``depth``, in G), or G's hidden widths in order, which D then mirrors
    (e.g. (256, 512): G z-256-512-x, D x-512-256-1).
    """
    if isinstance(hidden, int):
        g_hidden = [hidden] * (depth if generator_depth is None else generator_depth)
        d_hidden = [hidden] * depth
    else:
        g_hidden, d_hidden = list(hidden), list(reversed(hidden))
    images = getattr(data, "image_shape", None) is not None
    G = nn.mlp([latent_dim, *g_hidden, data.dim], activation="relu",
               output_activation="tanh" if images else None, dtype=dtype, rng=rng, name="G")
    D = nn.mlp([data.dim, *d_hidden, 1], activation="leaky_relu", dtype=dtype, rng=rng, name="D",
               input_layer=nn.Standardize(data.mean, data.std, dtype=dtype) if standardize else None)
    return G, D


COUNTERS = ("step", "d_steps", "g_steps")  # which step a record shows: training steps, D-steps, G-steps


@dataclass
class History:
    """One record (a dict of numbers) per training step; ``history['loss_g']`` is a column."""

    records: list = field(default_factory=list)

    def append(self, record: dict) -> None:
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, name: str) -> np.ndarray:
        return np.array([r[name] for r in self.records])

    def columns(self) -> dict:
        """{name: array}, one array per quantity (NaN where a step did not record it): for saving."""
        names = list(dict.fromkeys(k for r in self.records for k in r))
        return {n: np.array([r.get(n, np.nan) for r in self.records], dtype=np.float64) for n in names}

    @classmethod
    def from_columns(cls, columns: dict) -> History:
        """The History that ``columns()`` saved."""
        length = len(next(iter(columns.values()))) if columns else 0
        records = [{n: float(c[i]) for n, c in columns.items() if not math.isnan(c[i])} for i in range(length)]
        for record in records:
            record.update((n, int(record[n])) for n in COUNTERS if n in record)
        return cls(records)


class GAN:
    """A generator G, a discriminator D, the real data, and the explicit training algorithm.

    Counters: ``d_steps`` and ``g_steps`` count the updates of D and of G, however they were
    made (``train_step`` or ``d_step()`` / ``g_step()`` called by hand); ``step`` counts
    training steps (k D-steps and one G-step each) done by ``train_step``.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data, config: GANConfig | None = None,
                 rng=None):
        self.G, self.D, self.data = generator, discriminator, data
        self.config = config or GANConfig()
        self.rng = resolve(rng)
        self.opt_g = optim.Adam(self.G.parameters(), lr=self.config.lr_g, betas=self.config.betas)
        self.opt_d = optim.Adam(self.D.parameters(), lr=self.config.lr_d, betas=self.config.betas)
        # θ̄_G, the average of G's weights that makes the samples (None: G's own weights make them)
        self.g_average = WeightAverage(self.G, self.config.g_average) if self.config.g_average else None
        self.step = 0  # training steps done by train_step
        self.d_steps = 0  # updates of D, by train_step or by d_step() alone
        self.g_steps = 0  # updates of G, by train_step or by g_step() alone
        self._check_shapes()

    # -- what goes into the networks

    def tensor(self, host_array, requires_grad: bool = False) -> Tensor:
        """A host (NumPy) array as a Tensor on the backend, in the run's dtype."""
        return Tensor(backend.asarray(host_array, dtype=self.config.dtype), requires_grad=requires_grad)

    def sample_noise(self, n: int, rng=None) -> Tensor:
        """z ~ p_z, shape (n, latent_dim), drawn from ``rng`` (default: the run's own generator)."""
        rng = resolve(rng, self.rng)
        shape = (n, self.config.latent_dim)
        z = rng.standard_normal(shape) if self.config.noise == "normal" else rng.uniform(-1, 1, shape)
        return self.tensor(z)

    def sample_real(self, n: int, rng=None) -> Tensor:
        """x ~ p_data, shape (n, data.dim), drawn with ``rng`` (default: the run's own generator)."""
        return self.tensor(self.data.sample(n, resolve(rng, self.rng)))

    def _check_shapes(self) -> None:
        cfg = self.config
        probe_z = Tensor(backend.current().zeros((2, cfg.latent_dim), dtype=cfg.dtype))
        with no_grad(), nn.evaluating(self.G, self.D):  # evaluation mode: no dropout draws from the run's stream
            try:
                fake = self.G(probe_z)
            except ValueError as exc:
                raise ValueError(f"the generator does not take z of latent_dim {cfg.latent_dim}: {exc}") from None
            if fake.ndim != 2 or fake.shape[1] != self.data.dim:
                raise ValueError(
                    f"the generator makes samples of shape {fake.shape[1:]} but the data "
                    f"{self.data!r} have {self.data.dim} features"
                )
            try:
                logits = self.D(fake)
            except ValueError as exc:
                raise ValueError(f"the discriminator does not take samples of {self.data.dim} features: {exc}") from None
            if logits.shape != (2, 1):
                raise ValueError(f"the discriminator must output one logit per sample, shape (n, 1); got {logits.shape[1:]}")

    # -- the algorithm (Goodfellow et al. 2014, Algorithm 1)
    # algorithm:start

    def d_loss(self, rng=None) -> games.DiscriminatorLoss:
        """Steps 1-4: D's loss on a batch of real samples and a batch of detached fakes, with its graph."""
        m, rng = self.config.batch_size, resolve(rng, self.rng)  # the generator given, else the run's own
        z = self.sample_noise(m, rng)  # 1. z ~ p_z
        real = self.sample_real(m, rng)  # 2. x ~ p_data
        with no_grad():  # 3. fake = G(z) with no graph behind it, the same as G(z).detach():
            fake = self.G(z)  # no gradient of the D-step can reach G's parameters
        return self.discriminator_loss(self.D, real, fake, rng=rng)  # 4. L_D = L_D,r + L_D,f on D(x), D(fake)

    def d_step(self) -> dict:
        """Steps 1-5: one update of D; returns its record."""
        loss_d = self.d_loss()  # 1-4.
        self.opt_d.zero_grad()
        loss_d.total.backward()  # dL_D/dθ_D
        self.opt_d.step()  # 5. update θ_D
        return self._bookkeeping(loss_d, self.opt_d)  # losses, D(x), D(G(z)), ‖∇θ_D‖; a NaN or inf undoes step 5

    def g_loss(self, rng=None) -> Tensor:
        """Steps 6-8: G's loss through a frozen D, with its graph (back through D and G(z) into θ_G)."""
        z = self.sample_noise(self.config.batch_size, rng)  # 6. a new z ~ p_z
        fake = self.G(z)  # 7. fake = G(z), recorded: the gradient will come back through it
        with nn.frozen(self.D):  # 8. D scores the fakes, frozen while the graph is built:
            return self.generator_loss(self.D(fake))  # backward() will give its parameters no gradient

    def g_step(self) -> dict:
        """Steps 6-9: one update of G; returns its record."""
        loss_g = self.g_loss()  # 6-8.
        self.opt_g.zero_grad()
        loss_g.backward()  # dL_G/dθ_G: back through D, through G(z), into G's parameters
        self.opt_g.step()  # 9. update θ_G (D was not touched)
        return self._bookkeeping(loss_g, self.opt_g)  # L_G, ‖∇θ_G‖; a NaN or inf undoes step 9

    # algorithm:end

    def discriminator_loss(self, D, real: Tensor, fake: Tensor, rng=None) -> games.DiscriminatorLoss:
        """L_D of the run's game on ``real`` and ``fake`` (see ``games.discriminator_loss``)."""
        cfg = self.config
        return games.discriminator_loss(cfg.loss, D, real, fake, rng=resolve(rng, self.rng),
                                        real_label_smoothing=cfg.real_label_smoothing, gp_weight=cfg.gp_weight)

    def generator_loss(self, out_fake: Tensor) -> Tensor:
        """L_G of the run's game on D's outputs for fake samples (see ``games.generator_loss``)."""
        return games.generator_loss(self.config.loss, out_fake)

    def _as_d_output(self, out: Tensor) -> Tensor:
        """D's raw output as what it means: the probability D(x) = σ(logit) of a classifier, or the
        score itself (least squares: an estimate of the same probability; a critic: its own scale)."""
        return ops.sigmoid(out.detach()) if games.d_outputs_a_logit(self.config.loss) else out.detach()

    def _bookkeeping(self, loss, optimizer: optim.Optimizer) -> dict:
        """The record of one update (of D if ``loss`` is a DiscriminatorLoss, else of G): its losses,
        mean D(x) and D(G(z)), gradient norm, checked by the divergence guard (``minigan.guard``),
        which undoes the update and raises a DivergenceError on a NaN or an infinity. Then the
        player's counter (``d_steps`` or ``g_steps``) moves on."""
        if isinstance(loss, games.DiscriminatorLoss):
            player, quantities = "d", {"loss_d_real": loss.real, "loss_d_fake": loss.fake, "loss_d": loss.total,
                                       "d_real": self._as_d_output(loss.out_real).mean(),
                                       "d_fake": self._as_d_output(loss.out_fake).mean()}
            if loss.penalty is not None:
                quantities["gradient_penalty"] = loss.penalty
        else:
            player, quantities = "g", {"loss_g": loss}
        counter = f"{player}_steps"
        where = f" ({player.upper()}-step {getattr(self, counter) + 1})"
        record = guard.checked_record(quantities, optimizer, player, self.step + 1, where)
        setattr(self, counter, getattr(self, counter) + 1)
        return {counter: getattr(self, counter), **record}

    def discriminate(self, x) -> np.ndarray:
        """D(x) (or the critic's score) for host samples ``x``, as a host array, without a graph,
        with D in evaluation mode."""
        with no_grad(), nn.evaluating(self.D):
            return self._as_d_output(self.D(self.tensor(x))).numpy().ravel()

    # train_step runs a plain MLP, and a cross-entropy loss, as one op each (False: op by op, as d_step() alone does)
    fused_networks = True

    def train_step(self) -> dict:
        """k D-steps, then one G-step; returns the step's record (D's numbers from its last D-step)."""
        # 1 unless the learning rates decay; it scales the optimisers' own lr, whatever you set them to
        self.opt_d.lr_factor = self.opt_g.lr_factor = self.config.lr_factor(self.step)
        # speed only, the same numbers (minigan.fast: plain MLPs and cross-entropy losses as one op each);
        # not for WGAN-GP, whose penalty differentiates D twice
        with fusing(self.fused_networks and self.config.loss != "wgan_gp"):
            for _ in range(self.config.k):
                d_record = self.d_step()
            g_record = self.g_step()
        if self.g_average is not None:
            self.g_average.update()  # θ̄_G ← β θ̄_G + (1 - β) θ_G: the average that makes the samples
        self.step += 1
        return {"step": self.step, **d_record, **g_record}

    def train(self, steps: int, callbacks=(), stop=None, history: History | None = None) -> History:
        """The training loop: ``steps`` more training steps, unless ``stop()`` says to stop first.

        ``callbacks``: a function ``f(gan, record)``, or a list of them, called after each step
        (logging, pictures, checkpoints); ``stop``: a function of no arguments, asked before each
        step (a Ctrl-C handler, a time limit). Records go into ``history`` (a new one by default),
        which is returned; a DivergenceError leaves the steps done so far in it.
        """
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        callbacks = [callbacks] if callable(callbacks) else list(callbacks)
        history = history if history is not None else History()
        for _ in range(steps):
            if stop is not None and stop():
                break
            record = self.train_step()
            history.append(record)
            for callback in callbacks:
                callback(self, record)
        return history

    def generate(self, n: int, rng=None):
        """n samples of G as a host (NumPy) array, without recording a graph.

        z comes from ``rng``; without one, from the run's own generator, which then moves
        on: pass a generator of your own to look at G without changing the rest of the run.
        """
        z = self.sample_noise(n, rng)
        with no_grad(), self.sampling_generator() as G:
            return G(z).numpy()

    @contextlib.contextmanager
    def sampling_generator(self):
        """The G that makes the samples, in evaluation mode: G with θ̄_G swapped in if G's
        weights are averaged."""
        weights = self.g_average.swapped_in() if self.g_average is not None else contextlib.nullcontext(self.G)
        with nn.evaluating(self.G), weights as G:
            yield G

    # -- saving and restoring a run

    def state_dict(self) -> dict:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "g_average": self.g_average.state_dict() if self.g_average is not None else None,  # θ̄_G, if kept
            "rng": self.rng.bit_generator.state,
            "config": self.config.as_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a saved run: all of it, or (if any part does not fit) none of it."""
        saved_config = dict(state["config"], betas=tuple(state["config"]["betas"]))
        if saved_config != self.config.as_dict():
            differing = sorted(k for k in saved_config if saved_config[k] != self.config.as_dict().get(k))
            raise ValueError(f"the saved run used a different configuration (differs in: {', '.join(differing)})")
        backup = self.state_dict()
        try:
            self._load_parts(state)
        except (KeyError, ValueError, TypeError):
            self._load_parts(backup)
            raise

    def _load_parts(self, state: dict) -> None:
        self.G.load_state_dict(state["generator"])
        self.D.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if (self.g_average is None) != (state["g_average"] is None):
            raise ValueError("the saved run's average of G's weights does not match its configuration (g_average)")
        if self.g_average is not None:
            self.g_average.load_state_dict(state["g_average"])
        self.step, self.d_steps, self.g_steps = (int(state[name]) for name in COUNTERS)
        self.rng.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        """The two networks, their optimisers, the data, the settings and the steps taken."""
        parts = {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d,
                 "data": self.data, "config": self.config, "step": self.step}
        lines = (f"{name}={value!r}".replace("\n", "\n  ") for name, value in parts.items())
        return "GAN(" + "".join("\n  " + line for line in lines) + "\n)"
