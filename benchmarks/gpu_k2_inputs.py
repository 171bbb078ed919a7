"""The inputs of the GPU screens benchmarks/gpu_k2_staged.py and benchmarks/k2_tether.py, written on the CPU machine
where the data and the presets' checkpoints are; they travel to the GPU machine in an ignored folder (``carry``).

    python -m benchmarks.gpu_k2_inputs --out .devcarry          # k2data.npz (about 36 MB) and k2_state.pt (14 MB)
    python -m benchmarks.gpu_k2_inputs --out .devcarry --tsne   # tsne_map.npz (29 MB), no checkpoint needed

- ``k2data.npz``: the comparison's split of Fashion-MNIST (54,000 training and the 10,000 official test images, uint8,
  with labels: benchmarks.dr_compare.fashion_data) and the k=64 preset's codes of both (float16, seed 0);
- ``k2_state.pt``: the k=2 preset's (seed 0) encoder and decoder weights in float16, without the optimizer state
  that makes the checkpoint 84 MB;
- ``tsne_map.npz`` (``--tsne``, for benchmarks/k2_tether.py): the same split and openTSNE's map of it (the
  comparison's t-SNE, seed 0: the training map and the test images placed on it by its ``transform``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from aelab.checkpoints import load_model
from aelab.data.tensor_data import to_unit_float
from benchmarks.common import DEBIAN_FASHION
from benchmarks.dr_compare import fashion_data
from benchmarks.k2_knn_ceiling import CKPT64, apply, tsne_map
from benchmarks.k2_map_decoders import CKPT2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ckpt64", type=Path, default=CKPT64)
    parser.add_argument("--ckpt2", type=Path, default=CKPT2)
    parser.add_argument("--fashion-dir", type=Path, default=DEBIAN_FASHION)
    parser.add_argument("--tsne", action="store_true", help="write tsne_map.npz only")
    args = parser.parse_args()
    data, datamodule = fashion_data(args.fashion_dir, trust_samples=0)
    (x_train, y_train), (x_test, y_test) = datamodule.splits["train"].take(), datamodule.splits["test"].take()
    arrays = {k: np.asarray(v) for k, v in {"xtr": x_train, "ytr": y_train, "xte": x_test, "yte": y_test}.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.tsne:
        tsne_train, tsne_test, seconds = tsne_map(data.train_x, data.test_x, seed=0)
        maps = {"tsne_tr": tsne_train.astype(np.float32), "tsne_te": tsne_test.astype(np.float32)}
        np.savez_compressed(args.out / "tsne_map.npz", **arrays, **maps)
        print(f"wrote {args.out / 'tsne_map.npz'} (t-SNE fit {seconds:.0f} s)")
        return
    model64, _ = load_model(args.ckpt64)
    codes = [apply(model64.encoder, x, to_unit_float).numpy().astype(np.float16) for x in (x_train, x_test)]
    np.savez_compressed(args.out / "k2data.npz", **arrays, ztr=codes[0], zte=codes[1])
    model2, _ = load_model(args.ckpt2)
    state = {k: v.half() for k, v in model2.state_dict().items() if k.startswith(("encoder.", "decoder."))}
    torch.save(state, args.out / "k2_state.pt")
    print(f"wrote {args.out / 'k2data.npz'} and {args.out / 'k2_state.pt'}")


if __name__ == "__main__":
    main()
