"""notebooks/walkthrough.ipynb: committed without outputs, and runs top to bottom in a kernel of this interpreter.

The kernel is not whatever ``python3`` kernelspec the machine has (a user-level one in ~/.local/share/jupyter may
point at another Python): the test writes its own kernelspec, whose argv is this test's ``sys.executable``, into a
temporary JUPYTER_PATH folder under a name nothing else uses, and checks from inside the kernel that it got it.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"
KERNEL_NAME = "aelab-test-python"
NOTEBOOK_EPOCHS = "2"  # the notebook's AELAB_NOTEBOOK_EPOCHS: enough to train, short enough for the suite

CLEAR_OUTPUTS = (
    "jupyter nbconvert --clear-output --inplace notebooks/walkthrough.ipynb\n"
    "or, with only the dev extra installed:\n"
    ".venv/bin/python -c \"import nbformat; p = 'notebooks/walkthrough.ipynb'; "
    "nb = nbformat.read(p, as_version=4); "
    "[c.update(outputs=[], execution_count=None) for c in nb.cells if c.cell_type == 'code']; "
    'nbformat.write(nb, p)"'
)

# what pipeline.train prints, and what the notebook's comparison cell prints
PIPELINE_LINE = re.compile(r"AE test MSE (\d\.\d+) \| clipped PCA-(\d+) test MSE (\d\.\d+) \| AE/PCA ratio (\d+\.\d+)")
MSE_LINE = re.compile(r"test MSE\s+AE (\d\.\d+) \| clipped PCA-(\d+) (\d\.\d+) \| AE/PCA (\d+\.\d+)")
PROBE_LINE = re.compile(r"probe accuracy\s+AE (\d\.\d+)\s+\| PCA-(\d+) (\d\.\d+)")
FIGURE_TAGS = ("figure-reconstructions", "figure-tsne", "figure-pair-averages", "figure-class-means")


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def tagged(nb, tag: str):
    cells = [cell for cell in nb.cells if tag in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r} in {NOTEBOOK.name}, found {len(cells)}"
    return cells[0]


def stdout_of(cell) -> str:
    return "".join(out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stdout")


def png_outputs(cell) -> list[bytes]:
    return [
        base64.b64decode(out.data["image/png"])
        for out in cell.outputs
        if out.output_type in ("display_data", "execute_result") and "image/png" in out.data
    ]


def test_walkthrough_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not dirty, (
        f"{NOTEBOOK.relative_to(ROOT)} holds outputs or execution counts (cells {dirty}); notebooks are committed "
        f"without them. Clear them with:\n{CLEAR_OUTPUTS}"
    )


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec that runs ipykernel in this very interpreter, visible only to this test."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # connection files and IPython's profile (history database) inside tmp_path too, not in the home folder
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return KERNEL_NAME


def test_walkthrough_runs_top_to_bottom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv_kernel: str):
    work = tmp_path / "tmp"
    work.mkdir()
    monkeypatch.setenv("TMPDIR", str(work))  # the notebook's tempfile.mkdtemp lands here
    monkeypatch.setenv("AELAB_NOTEBOOK_EPOCHS", NOTEBOOK_EPOCHS)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("AELAB_CONF_DIR", raising=False)  # the notebook must find conf/ by itself

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    NotebookClient(
        nb, kernel_name=venv_kernel, timeout=300, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()  # raises CellExecutionError, with the cell and its traceback, if any cell fails

    # every cell ran, in order, in a kernel of this interpreter, and left nothing behind
    counts = [cell.execution_count for cell in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), counts
    assert Path(stdout_of(nb.cells[-1]).strip()) == Path(sys.executable)
    left = list(work.glob("aelab-walkthrough-*"))
    assert not left, f"the notebook's last cell did not remove its temporary folder: {left}"
    assert not [p for p in tmp_path.iterdir() if p.name not in {"tmp", "jupyter", "runtime", "ipython"}]

    # train() reported AE vs PCA at k = 20, and the notebook's own comparison found the same numbers
    trained = PIPELINE_LINE.search(stdout_of(tagged(nb, "train")))
    assert trained, stdout_of(tagged(nb, "train"))
    comparison = stdout_of(tagged(nb, "ae-vs-pca"))
    mse, probe = MSE_LINE.search(comparison), PROBE_LINE.search(comparison)
    assert mse and probe, comparison
    ae_mse, k, pca_mse = float(mse[1]), int(mse[2]), float(mse[3])
    assert k == int(probe[2]) == int(trained[2]) == 20
    assert ae_mse == pytest.approx(float(trained[1]), abs=2e-5)
    assert pca_mse == pytest.approx(float(trained[3]), abs=2e-5)
    assert 0.015 < pca_mse < 0.035  # clipped PCA-20 on the embedded sample: 0.0226
    assert 0 < ae_mse < 0.1  # two epochs: a trained AE, not yet PCA's equal
    ae_acc, pca_acc = float(probe[1]), float(probe[3])
    assert pca_acc > 0.8 and ae_acc > 0.3, comparison  # chance is 0.1

    # each figure cell drew one PNG figure
    for tag in FIGURE_TAGS:
        pngs = png_outputs(tagged(nb, tag))
        assert len(pngs) == 1, f"cell {tag!r} produced {len(pngs)} PNG figures"
        assert pngs[0].startswith(b"\x89PNG") and len(pngs[0]) > 5000, tag
