"""Files of the MNIST trainer (scripts/train_mnist.py): the split file that
scripts/train.ts writes (layout in scripts/split_file.ts), the ONNX model it
exports and a parent's ONNX weights it fine-tunes from, and the facts its
model.json records (sha256, Debian package versions).
"""

import base64
import hashlib
import json
import struct
import subprocess

import numpy as np
import onnx
import onnx.numpy_helper
import torch

OPSET = 13
INPUT_NAME = "input"
OUTPUT_NAME = "probabilities"


def load_split(path):
    """Reads the file written by scripts/train.ts (layout in scripts/split_file.ts)."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != b"MNS1":
        raise SystemExit(f"{path}: not an MNS1 split file")
    (hlen,) = struct.unpack_from("<I", buf, 4)
    header = json.loads(buf[8:8 + hlen].decode("utf-8"))
    n_tr, n_ho, px = header["train"], header["heldOut"], header["pixels"]
    n = n_tr + n_ho
    off = 8 + hlen
    pixels = np.frombuffer(buf, "<f4", n * px, off).reshape(n, 1, 28, 28)
    off += n * px * 4
    labels = np.frombuffer(buf, "<i4", n, off)
    off += n * 4
    index = np.frombuffer(buf, "<i4", n, off)
    t = lambda a: torch.from_numpy(a.copy())
    return header, (t(pixels[:n_tr]), t(labels[:n_tr]).long(), t(index[:n_tr])), (
        t(pixels[n_tr:]), t(labels[n_tr:]).long(), t(index[n_tr:]))


def load_onnx_weights(model, path, architecture):
    """Copies the initializers of an ONNX file exported from this module into it."""
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}
    state = model.state_dict()
    for name, tensor in state.items():
        if name not in weights or tuple(weights[name].shape) != tuple(tensor.shape):
            raise SystemExit(f"{path} is not this CNN: no initializer {name} of shape "
                             f"{tuple(tensor.shape)} ({architecture})")
        state[name] = torch.from_numpy(weights[name].copy())
    model.load_state_dict(state)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def f32_b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode("ascii")


def debian_version(pkg):
    try:
        return subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                              text=True, check=True).stdout.strip() or None
    except Exception:
        return None


def export(model, path):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), path,
        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        opset_version=OPSET, do_constant_folding=True,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    return m
