"""GAN training, written out: the algorithm of the notes, one numbered step at a time.

Put note 003's nine training steps (or note 004's pseudo-code) beside ``d_step`` and
``g_step`` and tick them off:

    for each training step:
        k times, a D-step:                                   (note 004: k D-steps per G-step)
            1. sample z ~ p_z            2. sample x ~ p_data
            3. fake = G(z), detached: the D-step must not send gradients into G
            4. D on real and on fake: L_D = L_D,r + L_D,f    (note 001: D learns from two losses)
            5. update D's parameters θ_D to lower L_D
        one G-step:
            6. sample a new z ~ p_z
            7. fake = G(z), this time in the graph: G(z) is "just another activation map"
            8. D on fake, with D frozen: L_G, one of the generator losses
            9. update G's parameters θ_G to lower L_G: the gradient flows back through D,
               through G(z), into θ_G, while D's parameters get no gradient and do not move

The generator loss is one of minigan.losses.GENERATOR_LOSSES ('minimax',
'non_saturating', 'max_likelihood'), or 'wgan_gp', where D is a critic with a
Wasserstein loss and a gradient penalty (Gulrajani et al. 2017).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np  # host-side: the history's columns

from minigan import backend, losses, nn, ops, optim, validate
from minigan.autograd import Tensor, no_grad
from minigan.rng import resolve

__all__ = ["GANConfig", "GAN", "History", "DivergenceError", "LOSSES", "NOISE", "make_networks"]

LOSSES = (*losses.GENERATOR_LOSSES, "wgan_gp")
NOISE = ("normal", "uniform")


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss or gradient.

    The update computed from it was not applied. D-steps taken earlier in the same
    training step were, so to continue, go back to the last checkpoint (the CLI keeps it).
    """

    def __init__(self, step: int, quantity: str, value: float):
        self.step, self.quantity, self.value = step, quantity, value
        super().__init__(
            f"training diverged at step {step}: {quantity} is {value}; that update was not applied "
            "(try lower learning rates)"
        )


@dataclass
class GANConfig:
    """Everything that defines a training run besides the networks and the data."""

    loss: str = "non_saturating"  # a generator loss, or 'wgan_gp'
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

    def __post_init__(self):
        validate.one_of("loss", self.loss, LOSSES)
        validate.one_of("noise prior", self.noise, NOISE)
        validate.one_of("dtype", self.dtype, ("float32", "float64"))
        for name in ("k", "batch_size", "latent_dim"):
            setattr(self, name, validate.positive_int(name, getattr(self, name)))
        for name in ("lr_g", "lr_d", "gp_weight"):
            setattr(self, name, validate.positive_number(name, getattr(self, name)))
        self.real_label_smoothing = validate.fraction("real_label_smoothing", self.real_label_smoothing)
        self.betas = optim.Adam.check_betas(self.betas)

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
    D = nn.mlp([data.dim, *d_hidden, 1], activation="leaky_relu", dtype=dtype, rng=rng, name="D")
    if standardize:
        D = nn.Sequential(nn.Standardize(data.mean, data.std, dtype=dtype), *D.layers)
    return G, D


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
            record["step"] = int(record["step"])
        return cls(records)


def _grad_norm(params) -> float:
    """‖∇θ‖₂ over all of a network's parameters (0 for parameters without a gradient)."""
    squares = [(p.grad.data * p.grad.data).sum() for p in params if p.grad is not None]
    return math.sqrt(float(sum(squares))) if squares else 0.0  # one read-back, not one per parameter


class GAN:
    """A generator G, a discriminator D, the real data, and the explicit training algorithm."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, data, config: GANConfig | None = None,
                 rng=None):
        self.G, self.D, self.data = generator, discriminator, data
        self.config = config or GANConfig()
        self.rng = resolve(rng)
        self.opt_g = optim.Adam(self.G.parameters(), lr=self.config.lr_g, betas=self.config.betas)
        self.opt_d = optim.Adam(self.D.parameters(), lr=self.config.lr_d, betas=self.config.betas)
        self.step = 0  # G-steps taken so far
        self._check_shapes()

    # -- what goes into the networks

    def tensor(self, host_array, requires_grad: bool = False) -> Tensor:
        """A host (NumPy) array as a Tensor on the backend, in the run's dtype."""
        return Tensor(backend.asarray(host_array, dtype=self.config.dtype), requires_grad=requires_grad)

    def sample_noise(self, n: int, rng=None) -> Tensor:
        """z ~ p_z, shape (n, latent_dim), drawn from ``rng`` (default: the run's own generator)."""
        rng = rng or self.rng
        shape = (n, self.config.latent_dim)
        z = rng.standard_normal(shape) if self.config.noise == "normal" else rng.uniform(-1, 1, shape)
        return self.tensor(z)

    def sample_real(self, n: int) -> Tensor:
        """x ~ p_data, shape (n, data.dim)."""
        return self.tensor(self.data.sample(n, self.rng))

    def _check_shapes(self) -> None:
        cfg = self.config
        probe_z = Tensor(backend.current().zeros((2, cfg.latent_dim), dtype=cfg.dtype))
        with no_grad():
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

    def _require_finite(self, quantity: str, value: float) -> float:
        if not math.isfinite(value):
            raise DivergenceError(self.step + 1, quantity, value)
        return value

    # -- the algorithm

    def d_step(self) -> dict:
        """Steps 1-5: one update of D on a batch of real and a batch of (detached) fake samples."""
        m, cfg = self.config.batch_size, self.config
        z = self.sample_noise(m)  # 1. z ~ p_z
        real = self.sample_real(m)  # 2. x ~ p_data
        with no_grad():  # 3. fake = G(z) with no graph behind it: the same as G(z).detach(),
            fake = self.G(z)  # so no gradient of this step can reach G's parameters
        out_real = self.D(real)  # 4. D on real and on fake ...
        out_fake = self.D(fake)
        if cfg.loss == "wgan_gp":  # ... a critic: Wasserstein terms plus the gradient penalty
            loss_real, loss_fake = losses.critic_losses(out_real, out_fake)
            penalty = losses.gradient_penalty(self.D, real, fake, self.rng, cfg.gp_weight)
            loss_d = loss_real + loss_fake + penalty
        else:  # ... a classifier: the two BCE terms L_D,r and L_D,f (note 001)
            loss_real, loss_fake = losses.discriminator_losses(out_real, out_fake, cfg.real_label_smoothing)
            penalty = None
            loss_d = loss_real + loss_fake  # one backward of the sum = the two backwards of note 003
        self.opt_d.zero_grad()
        loss_d.backward()
        record = {
            "loss_d_real": self._require_finite("loss_d_real", loss_real.item()),
            "loss_d_fake": self._require_finite("loss_d_fake", loss_fake.item()),
            "loss_d": self._require_finite("loss_d", loss_d.item()),
            "grad_norm_d": self._require_finite("grad_norm_d", _grad_norm(self.D.parameters())),
            "d_real": self._as_d_output(out_real).data.mean().item(),  # mean D(x) (or critic score)
            "d_fake": self._as_d_output(out_fake).data.mean().item(),  # mean D(G(z))
        }
        if penalty is not None:
            record["gradient_penalty"] = penalty.item()
        self.opt_d.step()  # 5. update θ_D
        return record

    def g_step(self) -> dict:
        """Steps 6-9: one update of G through a frozen D."""
        z = self.sample_noise(self.config.batch_size)  # 6. a new z ~ p_z
        fake = self.G(z)  # 7. fake = G(z), recorded: the gradient will come back through it
        with nn.frozen(self.D):  # 8. D scores the fakes; its parameters get no gradient
            out_fake = self.D(fake)
            loss_g = self.generator_loss(out_fake)
            self.opt_g.zero_grad()
            loss_g.backward()  # dL_G/dθ_G: back through D, through G(z), into G's parameters
        record = {
            "loss_g": self._require_finite("loss_g", loss_g.item()),
            "grad_norm_g": self._require_finite("grad_norm_g", _grad_norm(self.G.parameters())),
        }
        self.opt_g.step()  # 9. update θ_G (D was not touched)
        return record

    def generator_loss(self, out_fake: Tensor) -> Tensor:
        """L_G on D's outputs for fake samples (logits, or critic scores for 'wgan_gp')."""
        if self.config.loss == "wgan_gp":
            return losses.wasserstein_generator_loss(out_fake)
        return losses.generator_loss(self.config.loss)(out_fake)

    def _as_d_output(self, out: Tensor) -> Tensor:
        """D's raw output as what it means: the probability D(x) = σ(logit), or a critic's score."""
        return out if self.config.loss == "wgan_gp" else ops.sigmoid(out.detach())

    def discriminate(self, x) -> np.ndarray:
        """D(x) (or the critic's score) for host samples ``x``, as a host array, without a graph."""
        with no_grad():
            return self._as_d_output(self.D(self.tensor(x))).numpy().ravel()

    def train_step(self) -> dict:
        """k D-steps, then one G-step; returns the step's record (D's numbers from its last step)."""
        for _ in range(self.config.k):
            record = self.d_step()
        record.update(self.g_step())
        self.step += 1
        record["step"] = self.step
        return record

    def train(self, steps: int, callback=None, history: History | None = None) -> History:
        """Run ``steps`` training steps; ``callback(gan, record)`` after each (for logging and pictures)."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        history = history if history is not None else History()
        for _ in range(steps):
            record = self.train_step()
            history.append(record)
            if callback is not None:
                callback(self, record)
        return history

    def generate(self, n: int, rng=None):
        """n samples of G as a host (NumPy) array, without recording a graph.

        z comes from ``rng``; without one, from the run's own generator, which then moves
        on: pass a generator of your own to look at G without changing the rest of the run.
        """
        with no_grad():
            return self.G(self.sample_noise(n, rng)).numpy()

    # -- saving and restoring a run

    def state_dict(self) -> dict:
        return {
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
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
        self.step = int(state["step"])
        self.rng.bit_generator.state = state["rng"]

    def __repr__(self) -> str:
        """The two networks, their optimisers, the data, the settings and the steps taken."""
        parts = {"G": self.G, "D": self.D, "opt_g": self.opt_g, "opt_d": self.opt_d,
                 "data": self.data, "config": self.config, "step": self.step}
        lines = (f"{name}={value!r}".replace("\n", "\n  ") for name, value in parts.items())
        return "GAN(" + "".join("\n  " + line for line in lines) + "\n)"
