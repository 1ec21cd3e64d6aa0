"""Writes the small ONNX models the server's tests load (server/testdata/).

Each is a single Linear layer with fixed weights, so they are tiny and their
outputs are known: one the server must accept (input [N,784] instead of
[N,1,28,28], output [N,10]) and one it must refuse (output [N,5]).

    /usr/bin/python3 scripts/make_test_models.py
"""
import torch

torch.manual_seed(0)


def export(model, path, inputs, outputs):
    model.eval()
    torch.onnx.export(
        model,
        torch.zeros(1, inputs),
        path,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
        opset_version=13,
    )


class Dense(torch.nn.Module):
    def __init__(self, outputs):
        super().__init__()
        self.linear = torch.nn.Linear(784, outputs)

    def forward(self, x):
        return torch.softmax(self.linear(x), dim=1)


export(Dense(10), "server/testdata/dense_784x10.onnx", 784, 10)
export(Dense(5), "server/testdata/dense_784x5.onnx", 784, 5)
print("wrote server/testdata/dense_784x10.onnx and dense_784x5.onnx")
