"""The floor plan of src/aelab: every module imports only from the layers below its own, and every file stays short.

Imports are read from the source (``ast``), including those inside functions and under ``TYPE_CHECKING``, so an
import that runs late is still an import.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "aelab"
MAX_LINES = 300

# Lowest first. A unit (a top-level module or package of aelab) may import the units of the rows above its own row,
# not those of its own row or below.
LAYERS = [
    ["conf", "errors"],  # the Hydra configs (data, no code); user-facing errors
    ["files", "ssim"],  # writes a failure cannot leave half-made; SSIM as plain tensor math
    ["run_dirs"],  # run folders: unique names, and one clear error when one cannot be made
    ["targets"],  # which _target_s a checkpoint may name
    ["build"],  # building parts from _target_ specs
    ["nets"],  # plain nn.Modules
    ["data"],  # data modules, uint8 images and how they become floats
    ["checkpoints"],  # what a checkpoint records, and reading it back: the models write their class through it
    ["models"],  # the LightningModules
    ["analysis"],
    ["baselines"],
    ["panels"],  # image grids and figures to the loggers
    ["callbacks", "report", "ddp", "codes_io"],  # thin adapters over the layers above
    ["pipeline", "summarize"],
    ["reducer_fit"],  # how the reducer trains: train.py's pipeline, in memory unless a run folder is kept
    ["reducer"],  # the trained AE as a scikit-learn transformer
    ["encode", "decode", "export", "apps"],  # the command-line entry points (Hydra apps)
]
# Units that stand beside the main line: of the units above them they may import only these.
ONLY = {
    "checkpoints": {"errors", "files", "targets"},
    "analysis": {"errors", "build", "nets", "data"},  # works on encode/decode callables, never on a model
    "baselines": {"errors", "build", "nets", "data", "analysis", "ssim"},
    "panels": {"files"},
    "summarize": set(),
}
RANK = {unit: rank for rank, row in enumerate(LAYERS) for unit in row}


def unit_of(path: Path) -> str:
    """'models' for src/aelab/models/vae.py, 'errors' for src/aelab/errors.py."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def package_of(path: Path) -> str:
    """The package a module's relative imports start from: aelab.models for src/aelab/models/vae.py."""
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1])


def imported_units(source: str, package: str) -> list[tuple[int, str, str]]:
    """(line, imported module, aelab unit) for every import of aelab in ``source``, a module of ``package``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . import x, from ..y import z
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from aelab import nets" imports the unit nets, as "from aelab.nets import mlp" does
            targets = [f"{base}.{alias.name}" for alias in node.names] if base == "aelab" else [base]
        else:
            continue
        for target in targets:
            parts = target.split(".")
            if parts[0] == "aelab" and len(parts) > 1:
                found.append((node.lineno, target, parts[1]))
    return found


def sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_place_in_the_layers():
    units = {unit_of(path) for path in sources() if path != PACKAGE / "__init__.py"}
    assert units <= set(RANK), f"add {sorted(units - set(RANK))} to LAYERS in tests/test_layout.py"


def test_imports_only_point_down_the_layers():
    wrong = []
    for path in sources():
        unit = unit_of(path)
        if path == PACKAGE / "__init__.py" or unit not in RANK:  # the test above names a unit without a place
            continue
        below = {other for other, rank in RANK.items() if rank < RANK[unit]}
        allowed = below & ONLY[unit] if unit in ONLY else below
        for line, target, imported in imported_units(path.read_text(), package_of(path)):
            if imported != unit and imported not in allowed:
                wrong.append(
                    f"{path.relative_to(SRC)}:{line} imports {target}, but {unit} may import only {sorted(allowed)}"
                )
    assert not wrong, "upward (or sideways) imports:\n" + "\n".join(wrong)


def test_no_source_file_is_longer_than_the_limit():
    long = {str(p.relative_to(SRC)): n for p in sources() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines (split them by concept): {long}"


def test_the_walk_finds_late_relative_and_upward_imports():
    source = (
        "import torch\n"
        "from aelab.nets.mlp import MLPEncoder\n"
        "from . import conv\n"
        "def f():\n"
        "    from aelab.models.autoencoder import AutoEncoder\n"
        "    from aelab import data\n"
    )
    assert imported_units(source, "aelab.nets") == [
        (2, "aelab.nets.mlp", "nets"),
        (3, "aelab.nets", "nets"),
        (5, "aelab.models.autoencoder", "models"),
        (6, "aelab.data", "data"),
    ]
