"""The same training in PyTorch on the CPU (the comparison of bench/train.py; torch is not a project dependency).

xor-easy (the CSV of `backprop-tutor data xor-easy`), a 2-10-10-1 sigmoid net, MSE, full batch, SGD (lr 1.0)
or Adam (lr 0.01), the same initial weights as `train --seed 1`.
Usage: python bench/train_torch.py sgd|adam EPOCHS XOR.csv (with a Python that has torch).
"""

import sys

import numpy as np
import torch


def main() -> None:
    optimizer_name, epochs, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = torch.from_numpy(data[:, :2]), torch.from_numpy(data[:, 2:3])
    rng = np.random.default_rng(1)
    sizes = [2, 10, 10, 1]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layer = torch.nn.Linear(a, b, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(rng.normal(0.0, np.sqrt(2.0 / (a + b)), (b, a))))
            layer.bias.zero_()
        layers += [layer, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    if optimizer_name == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.MSELoss()
    history = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        history.append(loss.item())
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        out = model(x)
    print(f"loss {loss_fn(out, y).item():.6g} accuracy {float(((out >= 0.5) == (y == 1)).double().mean()):.3f}")


if __name__ == "__main__":
    main()
