"""A trained solution: the network on its problem, callable on points, with its history and
metrics; ``load`` brings back any run directory that ``kanpde`` or ``kanpde.solve`` wrote.

    sol = kanpde.solve("burgers1d")            # or kanpde.load("outputs/.../run")
    u = sol(x)                                 # x (N, n_in) numpy or torch -> (N, n_out), same kind
    d = sol.derivatives(x, "u_x", "u_xx")      # {"u_x": (N,), "u_xx": (N,)}
    sol.save("run")                            # the output contract, as the command line writes it
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException
from torch import Tensor

from .build import build_net, instantiate_problem, select_dtype
from .config import choice
from .schema import import_plugins, schema
from .errors import KanpdeError
from .io import read_history, read_json
from .io.run_dir import CHECKPOINT, METRICS, RunDirectory, checkpoint_mismatch, read_checkpoint
from .nets import SolutionNet
from .nets.jet import MAX_ORDER
from .pde import Problem, TestSet, derivatives
from .training import History

CHUNK = 65536  # points per network evaluation (memory), 8192 with derivatives
Points = np.ndarray | Tensor


def evaluate(net: SolutionNet, x: Tensor) -> Tensor:
    """The network's values at x (N, n_in), without gradients, in chunks: (N, n_out)."""
    with torch.no_grad():
        return torch.cat([net(chunk) for chunk in x.split(CHUNK)])


def predict(net: SolutionNet, x: Tensor) -> np.ndarray:
    """``evaluate`` as float64 numpy: (N, n_out)."""
    return evaluate(net, x).double().cpu().numpy()


class Solution:
    """``net`` trained on ``problem`` with the run config ``config``; ``history`` holds the
    history.h5 columns, ``metrics`` the metrics.json object, ``state`` the training loop's final
    state (what a checkpoint holds) and ``run_dir`` where it was written or read (or None)."""

    def __init__(self, net: SolutionNet, problem: Problem, config: DictConfig, history: Mapping[str, np.ndarray],
                 metrics: Mapping[str, Any], state: Mapping[str, Any], run_dir: Path | None = None):
        self.net, self.problem, self.config = net.eval(), problem, config
        self.history, self.metrics, self.state, self.run_dir = dict(history), dict(metrics), state, run_dir
        self._sets: dict[str, TestSet] | None = None
        self._predictions: dict[str, np.ndarray] = {}

    @property
    def inputs(self) -> tuple[str, ...]:
        return tuple(self.problem.inputs)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(self.problem.outputs)

    def __repr__(self) -> str:
        m = self.metrics
        error = f"rel_l2={m['rel_l2']:.3e}, " if isinstance(m.get("rel_l2"), float) else ""
        return (f"Solution({m.get('problem', type(self.problem).__name__)} / {m.get('model', '?')}: {error}"
                f"{sum(p.numel() for p in self.net.parameters())} parameters, status {m.get('status', '?')})")

    # ----- values and derivatives at points ---------------------------------------------------------
    def _points(self, x: Points) -> Tensor:
        """x as a (N, n_in) tensor of the network's dtype and device; one-line error otherwise."""
        t = x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))
        n_in = len(self.inputs)
        if t.ndim != 2 or t.shape[1] != n_in:
            raise KanpdeError(f"points must have shape (N, {n_in}) for the inputs ({', '.join(self.inputs)}), "
                              f"got {tuple(t.shape)}")
        return t.detach().to(device=self.net.shift.device, dtype=self.net.shift.dtype)

    def __call__(self, x: Points) -> Points:
        """The solution at x (N, n_in): (N, n_out), numpy in -> numpy out, torch in -> torch out (on
        x's device; the network's dtype)."""
        values = evaluate(self.net, self._points(x))
        return values.to(x.device) if isinstance(x, Tensor) else values.cpu().numpy()

    def derivatives(self, x: Points, *names: str) -> dict[str, Points]:
        """Partial derivatives at x (N, n_in) by name: the field, "_", then the inputs, e.g. "u_x",
        "u_xx", "u_xt", "v_yy" ("u" alone: the values); each (N,), numpy or torch as x. Up to fourth
        order by the run's derivative engine, higher orders by nested autograd."""
        wanted = {name: self._parse(name) for name in names}
        order = max((len(wrt) for _, wrt in wanted.values()), default=0)
        engine = self.config.diff if order <= MAX_ORDER else "autograd"
        out: dict[str, list[Tensor]] = {name: [] for name in names}
        with torch.enable_grad():
            for chunk in self._points(x).split(CHUNK // 8):
                d = derivatives(engine, self.net, chunk, self.inputs, self.outputs, order)
                for name, (field, wrt) in wanted.items():
                    out[name].append(d(field, *wrt).detach())
        result = {name: torch.cat(parts) for name, parts in out.items()}
        return {k: (v.to(x.device) if isinstance(x, Tensor) else v.cpu().numpy()) for k, v in result.items()}

    def _parse(self, name: str) -> tuple[str, tuple[str, ...]]:
        """"u_xt" -> ("u", ("x", "t")): the longest field name that fits, then input names."""
        for field in sorted(self.outputs, key=len, reverse=True):
            if name == field:
                return field, ()
            if name.startswith(field + "_"):
                rest, wrt = name[len(field) + 1:], []
                while rest:
                    match = next((n for n in sorted(self.inputs, key=len, reverse=True) if rest.startswith(n)), None)
                    if match is None:
                        break
                    wrt.append(match)
                    rest = rest[len(match):]
                if not rest and wrt:
                    return field, tuple(wrt)
        raise KanpdeError(f"cannot read the derivative {name!r}: write the field ({', '.join(self.outputs)}), '_', "
                          f"then inputs ({', '.join(self.inputs)}), e.g. {self.outputs[0]}_{self.inputs[0] * 2}")

    # ----- the test sets ------------------------------------------------------------------------------
    @property
    def test_sets(self) -> dict[str, TestSet]:
        """The problem's named test sets: evaluation points and reference values (computed once)."""
        if self._sets is None:
            self._sets = self.problem.test_sets()
        return self._sets

    @property
    def test_set(self) -> TestSet:
        """What the run's errors are measured on: the scored test sets together (pde/test_set.py)."""
        return TestSet.score(self.test_sets, len(self.inputs), len(self.outputs))

    def remember_test(self, sets: Mapping[str, TestSet], predictions: Mapping[str, np.ndarray]) -> None:
        """Keep the test sets and the predictions on them already computed (by the run)."""
        self._sets, self._predictions = dict(sets), dict(predictions)

    def test_predictions(self) -> dict[str, np.ndarray]:
        """The solution on each test set's points, float64: name -> (N, n_out)."""
        for name, test in self.test_sets.items():
            if name not in self._predictions:
                self._predictions[name] = predict(self.net, self._points(test.points))
        return self._predictions

    # ----- files --------------------------------------------------------------------------------------
    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the output contract into ``path`` (config, checkpoint, history, VTU, figures,
        metrics), as a run of the command line leaves it; ``kanpde.load(path)`` reads it back."""
        out = RunDirectory(path, OmegaConf.to_container(self.config, resolve=True, enum_to_str=True))
        if out.holds_run() and not overwrite:
            raise KanpdeError(f"{out.path} already holds a run; pass overwrite=True to replace it")
        out.path.mkdir(parents=True, exist_ok=True)
        out.write_config()
        out.save_checkpoint(self.state)
        out.write(self.history, self.test_sets, self.test_predictions(), self.inputs, self.outputs, self.metrics,
                  self.problem.domain.time_name if self.problem.has_time else None)
        return out.path


def _known_sections(config: dict) -> dict:
    """The recorded config without the sections of strategies this process has not registered (a
    run made where a user's phase or weighting was imported): a reload trains nothing, so it
    needs only the problem, the model and the dtype."""
    known = OmegaConf.structured(schema()).optim
    optim = dict(config.get("optim", {}))
    weighting = dict(optim.get("weighting", {}))
    optim = {k: v for k, v in optim.items() if k in known}
    if weighting:
        optim["weighting"] = {k: v for k, v in weighting.items() if k in known.weighting}
    return {**config, "optim": optim}


def load(run_dir: str | Path, problem: Problem | None = None, dtype: str | None = None,
         device: str = "cpu") -> Solution:
    """The Solution in ``run_dir`` (a run of ``kanpde`` or ``kanpde.solve``, or ``Solution.save``):
    the network rebuilt from the run's config and checkpoint, in the run's dtype (or ``dtype``) on
    ``device``. ``problem``: the Problem object, for a run whose problem a config cannot rebuild (one
    passed to ``solve`` as an object made in a notebook)."""
    path = Path(run_dir)
    if not path.is_dir():
        raise KanpdeError(f"{path}: no such run directory")
    ckpt = read_checkpoint(path / CHECKPOINT)
    try:
        import_plugins(ckpt["config"].get("plugins", []))
        cfg = OmegaConf.merge(OmegaConf.structured(schema()), _known_sections(ckpt["config"]))
    except OmegaConfBaseException as exc:
        raise KanpdeError(f"{path / CHECKPOINT}: its config does not fit this kanpde version ({exc.msg})") from None
    if problem is None:
        try:
            problem = instantiate_problem(cfg.problem)
        except KanpdeError as exc:
            raise KanpdeError(f"{path}: cannot rebuild the run's problem ({exc}); pass it: kanpde.load(run_dir, "
                              "problem=...)") from None
    torch_dtype = select_dtype(dtype or choice(cfg.dtype))
    with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten: leave the caller's RNG alone
        net = build_net(problem, cfg.model, torch_dtype, torch.device(device))
    state = ckpt["loop"]
    try:
        net.load_trained(state["net"], state["grid_sizes"])
        problem.to(torch.device(device), torch_dtype)
        with torch.no_grad():
            for name, value in state["unknowns"].items():
                problem.unknowns[name].fill_(value)
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise checkpoint_mismatch(path / CHECKPOINT, exc) from None
    history = (read_history(path / "history.h5") if (path / "history.h5").exists()
               else History(state["history"]).arrays())
    metrics = read_json(path / METRICS) if (path / METRICS).exists() else {}
    return Solution(net, problem, cfg, history, metrics, state, run_dir=path)


__all__ = ["Solution", "load", "predict"]
