"""Seed every source of randomness with one call, and say what was seeded.

Call ``set_global_seed(seed)`` first thing in an entry point, before any
model, data loader or random draw is created. Under ``rigor run`` the seed
comes from the row config (``seed.value``); rigor also exports it as
``RIGOR_SEED`` and sets ``PYTHONHASHSEED`` for the process before it starts,
which is the only way string hashing can be seeded (see ``SeedReport``).

numpy and torch are optional: a package that is not installed is skipped
and the report says so.
"""

from __future__ import annotations

import os
import random
from dataclasses import asdict, dataclass
from typing import Any

try:
    import numpy as np
except ImportError:  # numpy is optional
    np = None

try:
    import torch
except ImportError:  # torch is optional
    torch = None

# PYTHONHASHSEED and numpy's legacy seeding both accept 0 .. 2**32 - 1.
MAX_SEED = 2**32 - 1

# What torch's strict mode needs from cuBLAS; rigor run sets the same value.
CUBLAS_WORKSPACE = ":4096:8"


@dataclass(frozen=True)
class SeedReport:
    """What ``set_global_seed`` did.

    ``python`` is True once ``random`` is seeded. ``hash_seed_inherited`` is
    True when this process already started with ``PYTHONHASHSEED`` equal to
    the seed, so ``hash()`` of str and bytes is reproducible here too; setting
    the variable at run time only reaches child processes. ``numpy``,
    ``torch`` and ``cuda`` are True when that generator was seeded, ``cudnn``
    when cuDNN was made deterministic, ``strict`` when torch was switched to
    deterministic algorithms.
    """

    seed: int
    python: bool
    hash_seed_inherited: bool
    numpy: bool
    torch: bool
    cuda: bool
    cudnn: bool
    strict: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line, such as ``seed 42: python numpy (not: torch cuda ...)``."""
        flags = asdict(self)
        del flags["seed"]
        done = [name for name, on in flags.items() if on]
        skipped = [name for name, on in flags.items() if not on]
        text = f"seed {self.seed}: " + (" ".join(done) or "nothing")
        if skipped:
            text += " (not: " + " ".join(skipped) + ")"
        return text


def check_seed(seed: object) -> int:
    """Return ``seed`` if it is an int in 0 .. 2**32 - 1, else raise."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, not {type(seed).__name__}")
    if seed < 0 or seed > MAX_SEED:
        raise ValueError(f"seed {seed} is outside 0 .. {MAX_SEED}")
    return seed


def set_global_seed(
    seed: int = 42,
    *,
    deterministic_cudnn: bool = True,
    strict_deterministic: bool = False,
) -> SeedReport:
    """Seed random, numpy, torch and CUDA, and make cuDNN deterministic.

    With ``strict_deterministic`` torch also refuses nondeterministic
    algorithms (``torch.use_deterministic_algorithms(True)``), which needs
    ``CUBLAS_WORKSPACE_CONFIG``; it is set here unless already set. Raises
    ValueError for a seed outside 0 .. 2**32 - 1 and TypeError for a non-int.
    """
    seed = check_seed(seed)
    inherited = os.environ.get("PYTHONHASHSEED") == str(seed)
    # Too late for this interpreter's own hashing, but inherited by child
    # processes (spawned DataLoader workers, subprocesses).
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    seeded_numpy = _seed_numpy(seed)
    seeded_torch, seeded_cuda, cudnn, strict = _seed_torch(
        seed, deterministic_cudnn, strict_deterministic
    )
    return SeedReport(
        seed=seed,
        python=True,
        hash_seed_inherited=inherited,
        numpy=seeded_numpy,
        torch=seeded_torch,
        cuda=seeded_cuda,
        cudnn=cudnn,
        strict=strict,
    )


def _seed_numpy(seed: int) -> bool:
    if np is None:
        return False
    np.random.seed(seed)
    return True


def _seed_torch(
    seed: int, deterministic_cudnn: bool, strict: bool
) -> tuple[bool, bool, bool, bool]:
    """Seed torch (and CUDA); return (torch, cuda, cudnn, strict) as done."""
    if torch is None:
        return False, False, False, False
    torch.manual_seed(seed)
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.manual_seed_all(seed)
    if deterministic_cudnn:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    if strict:
        if "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
            os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
        torch.use_deterministic_algorithms(True)
    return True, cuda, deterministic_cudnn, strict


def seed_worker(worker_id: int) -> None:
    """Seed random and numpy inside a DataLoader worker.

    Pass it as ``DataLoader(..., worker_init_fn=seed_worker,
    generator=make_generator(seed))``. torch gives each worker its own
    seed (``torch.initial_seed()``); without torch the worker id is used.
    """
    if torch is not None:
        worker_seed = torch.initial_seed() % 2**32
    else:
        worker_seed = worker_id % 2**32
    random.seed(worker_seed)
    if np is not None:
        np.random.seed(worker_seed)


def make_generator(seed: int) -> Any:
    """Return a ``torch.Generator`` seeded with ``seed``, or None without torch."""
    seed = check_seed(seed)
    if torch is None:
        return None
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def seed_from_environment(default: int | None = None) -> int:
    """Return ``RIGOR_SEED`` as an int, or ``default`` when it is not set.

    Raises ValueError when neither is available or the value is not a seed.
    """
    value = os.environ.get("RIGOR_SEED", "")
    if value == "":
        if default is None:
            raise ValueError("RIGOR_SEED is not set; use rigor run, or pass a seed")
        return check_seed(default)
    try:
        return check_seed(int(value))
    except ValueError as err:
        raise ValueError(f"RIGOR_SEED={value!r} is not a seed: {err}") from None
