"""bpdl from Python in one page: train briefly on MNIST, infer, sample, score, plot.

    python bindings/python/examples/quickstart.py                 # MNIST from $BPDL_DATA_DIR
    python bindings/python/examples/quickstart.py --epochs 20 --train-limit 0   # the full run

The run folder it writes is a normal bpdl run: `bpdl sample --run runs/quickstart` works on it.
"""

from __future__ import annotations

import argparse
import pathlib

import numpy as np

import bpdl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None, help="MNIST folder (default: $BPDL_DATA_DIR)")
    ap.add_argument("--out", default="runs/quickstart", help="run folder")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--train-limit", type=int, default=5000, help="training images (0 = all)")
    ap.add_argument("--h1", type=int, default=None, help="h1 units (default: the paper's 1000)")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    data = bpdl.datasets.mnist(args.data_dir)
    print(data)
    cfg = bpdl.Config.default().update(
        {"train.epochs": args.epochs, "data.train_limit": args.train_limit}
    )
    if args.h1:
        cfg.set("model.layers[0].size", args.h1)

    def show(m: dict) -> None:
        print(f"epoch {m['epoch']}: log p(x,h) {m['log_pxh_before']:.2f} -> {m['log_pxh_after']:.2f}"
              f" ({m['seconds']:.1f}s)")

    out = pathlib.Path(args.out)
    model = bpdl.train(cfg, data.train, out=out, validation=data.validation,
                       threads=args.threads, on_epoch=show, resume=(out / "checkpoint.safetensors").exists())

    curve = model.inference_curve(data.test[:500], steps=20, threads=args.threads)
    print(f"Fig. 4 on 500 test images: {curve.log_pxh_mean[0]:.2f} -> {curve.log_pxh_mean[-1]:.2f}")

    scores = {}
    for method in ["generate", "ancestral"]:
        xs = bpdl.sample(model, args.samples, method=method, seed=1)
        scores[method] = bpdl.parzen_ll(xs, data.test, validation=data.validation[:1000])
        s = scores[method]
        print(f"{method}: Parzen {s.mean:.1f} ± {s.se:.1f} nats (σ = {s.sigma:.3f})")
    np.save(out / "samples_generate.npy", xs)

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return
    side = data.image_shape
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    grid = xs[:64].reshape(8, 8, *side).transpose(0, 2, 1, 3).reshape(8 * side[0], 8 * side[1])
    axes[0].imshow(grid, cmap="gray")
    axes[0].set_title("GENERATE samples")
    axes[0].axis("off")
    axes[1].errorbar(range(len(curve.log_pxh_mean)), curve.log_pxh_mean, yerr=curve.log_pxh_se)
    axes[1].set_xlabel("inference iteration")
    axes[1].set_ylabel("mean log p(x, h)")
    axes[1].set_title("Fig. 4")
    fig.tight_layout()
    fig.savefig(out / "quickstart.png", dpi=100)
    print(f"figure: {out / 'quickstart.png'}")


if __name__ == "__main__":
    main()
