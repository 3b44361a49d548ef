#!/usr/bin/python3
"""The lecture's model trained on real MNIST in PyTorch 1.13, once per seed.

The reference for nabla's `--model=lecture` accuracy: the same network,
batch (128), optimizer (Adam, lr 1e-3, Keras's betas and epsilon 1e-7) and
epochs (10), initialized as Keras initializes it (Glorot-uniform weights,
zero biases), trained on the 60,000 MNIST training images in a fresh
shuffle each epoch and evaluated on the 10,000 test images. Prints one JSON
line per seed (test accuracy after the last epoch, training seconds) and a
summary line with the mean.

    /usr/bin/python3 bench/torch_seeds.py --seeds=1,2,3,4,5 --threads=2

Reads the gzipped IDX files nabla ships in data/mnist.
"""

import argparse
import gzip
import json
import os
import statistics
import struct
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def lecture_model():
    model = nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 1000), nn.ReLU(),
        nn.Linear(1000, 10))
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)  # Keras's glorot_uniform
            nn.init.zeros_(layer.bias)
    return model


def train_one(seed, data, epochs, batch):
    train_x, train_y, test_x, test_y = data
    torch.manual_seed(seed)
    model = lecture_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999),
                           eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    n = train_x.shape[0]
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            x = train_x[idx].float().div_(255)
            loss_fn(model(x), train_y[idx]).backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, test_x.shape[0], 1000):
            logits = model(test_x[i:i + 1000].float().div_(255))
            correct += (logits.argmax(1) == test_y[i:i + 1000]).sum().item()
    return {"framework": "pytorch", "model": "lecture", "seed": seed,
            "epochs": epochs, "batch": batch,
            "test_accuracy": correct / test_x.shape[0],
            "train_seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default="data/mnist")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train_limit", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    def load(name):
        return torch.from_numpy(
            read_idx(os.path.join(args.data_dir, name)).copy())

    train_x = load("train-images-idx3-ubyte.gz").unsqueeze(1)
    train_y = load("train-labels-idx1-ubyte.gz").long()
    if args.train_limit:
        train_x, train_y = (train_x[:args.train_limit],
                            train_y[:args.train_limit])
    test_x = load("t10k-images-idx3-ubyte.gz").unsqueeze(1)
    test_y = load("t10k-labels-idx1-ubyte.gz").long()
    data = (train_x, train_y, test_x, test_y)

    accuracies = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        result = train_one(seed, data, args.epochs, args.batch)
        accuracies.append(result["test_accuracy"])
        print(json.dumps(result), flush=True)
    print(json.dumps({"framework": "pytorch", "model": "lecture",
                      "seeds": len(accuracies),
                      "mean_test_accuracy": statistics.mean(accuracies),
                      "stdev": statistics.stdev(accuracies)
                      if len(accuracies) > 1 else 0.0}), flush=True)


if __name__ == "__main__":
    main()
