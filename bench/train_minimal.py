"""A minimal hand-written numpy loop: the lab's task with nothing else (the baseline for bench/train.py).

xor-easy (the CSV of `backprop-tutor data xor-easy`), a 2-10-10-1 sigmoid net, MSE, full batch, SGD (lr 1.0)
or Adam (lr 0.01), Xavier-normal weights drawn as `train --seed 1` draws them, zero biases.
Usage: python bench/train_minimal.py sgd|adam EPOCHS XOR.csv
"""

import sys

import numpy as np


def main() -> None:
    optimizer, epochs, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    x, y = data[:, :2], data[:, 2:3]
    rng = np.random.default_rng(1)
    sizes = [2, 10, 10, 1]
    ws = [rng.normal(0.0, np.sqrt(2.0 / (a + b)), (b, a)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(b) for b in sizes[1:]]
    params = ws + bs
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    lr = 1.0 if optimizer == "sgd" else 0.01
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))
    m = x.shape[0]
    history = []  # the loss of every epoch, as the lab computes it (and train records it)
    for t in range(1, epochs + 1):
        a1 = sig(x @ ws[0].T + bs[0])
        a2 = sig(a1 @ ws[1].T + bs[1])
        a3 = sig(a2 @ ws[2].T + bs[2])
        history.append(float(np.mean((a3 - y) ** 2)))
        d3 = 2.0 * (a3 - y) * a3 * (1 - a3)
        d2 = (d3 @ ws[2]) * a2 * (1 - a2)
        d1 = (d2 @ ws[1]) * a1 * (1 - a1)
        grads = [d1.T @ x / m, d2.T @ a1 / m, d3.T @ a2 / m, d1.mean(0), d2.mean(0), d3.mean(0)]
        for k, (p, g) in enumerate(zip(params, grads)):
            if optimizer == "sgd":
                p -= lr * g
            else:
                m1[k] = 0.9 * m1[k] + 0.1 * g
                m2[k] = 0.999 * m2[k] + 0.001 * g * g
                p -= lr * (m1[k] / (1 - 0.9 ** t)) / (np.sqrt(m2[k] / (1 - 0.999 ** t)) + 1e-8)
    out = sig(sig(sig(x @ ws[0].T + bs[0]) @ ws[1].T + bs[1]) @ ws[2].T + bs[2])
    print(f"loss {float(np.mean((out - y) ** 2)):.6g} accuracy {float(np.mean((out >= 0.5) == (y == 1))):.3f}")


if __name__ == "__main__":
    main()
