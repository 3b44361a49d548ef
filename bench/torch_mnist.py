#!/usr/bin/python3
"""The lecture's MNIST model in PyTorch 1.13 (Debian's python3-torch): the
reference nabla's benchmarks compare against.

Measures, with the same thread count as nabla:
  * training images/s: one step = forward, backward, Adam update;
  * inference images/s at a batch size, and latency per image at batch 1;
  * optionally, peak resident memory of a full training run (--full_run).

Prints one JSON object per measurement on stdout, so bench/compare.py (or
a person) can read it. Synthetic random data stands in for MNIST when
timing steps: speed does not depend on the pixel values.
"""

import argparse
import json
import resource
import time

import torch
import torch.nn as nn


def lecture_model():
    # Conv2D 32 5x5 relu > MaxPool 2x2 > Conv2D 64 5x5 relu > MaxPool 2x2 >
    # Flatten > Dense 1000 relu > Dense 10 (softmax inside the loss).
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 1000), nn.ReLU(),
        nn.Linear(1000, 10))


def time_loop(fn, min_seconds, min_iters):
    fn()  # warm-up: first-call allocations and primitive creation
    fn()
    iters, start = 0, time.perf_counter()
    while True:
        fn()
        iters += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and iters >= min_iters:
            return elapsed / iters


def bench_train(batch, seconds):
    torch.manual_seed(0)
    model = lecture_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    t = time_loop(step, seconds, 5)
    return {"framework": "pytorch", "what": "train_step", "batch": batch,
            "seconds_per_step": t, "images_per_second": batch / t}


def bench_infer(batch, seconds):
    torch.manual_seed(0)
    model = lecture_model().eval()
    x = torch.rand(batch, 1, 28, 28)

    def run():
        with torch.no_grad():
            torch.softmax(model(x), dim=1)

    t = time_loop(run, seconds, 20 if batch == 1 else 3)
    return {"framework": "pytorch", "what": "inference", "batch": batch,
            "seconds_per_batch": t, "images_per_second": batch / t,
            "ms_per_image": 1000 * t / batch}


def full_run(epochs, batch, u8=False):
    """A full training run on random data of MNIST's size, for peak memory.

    Like nabla's examples/mnist: 60,000 training images in shuffled batches,
    then each epoch a validation pass over 10,000 test images in batches of
    1000 (loss and accuracy). With `u8` the images are kept as uint8 and
    each batch is converted to float in [0, 1], as torchvision's MNIST and
    nabla's model (which rescales u8 pixels itself) do; otherwise they are
    held as float32, four times the bytes.
    """
    torch.manual_seed(0)
    model = lecture_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    if u8:
        images = torch.randint(0, 256, (60000, 1, 28, 28), dtype=torch.uint8)
        test_images = torch.randint(0, 256, (10000, 1, 28, 28),
                                    dtype=torch.uint8)
    else:
        images = torch.rand(60000, 1, 28, 28)
        test_images = torch.rand(10000, 1, 28, 28)
    labels = torch.randint(0, 10, (60000,))

    def pixels(x):
        return x.float().div_(255) if u8 else x

    test_labels = torch.randint(0, 10, (10000,))
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(60000)
        for i in range(0, 60000, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(pixels(images[idx])), labels[idx]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            for i in range(0, 10000, 1000):
                logits = model(pixels(test_images[i:i + 1000]))
                loss_fn(logits, test_labels[i:i + 1000]).item()
                (logits.argmax(1) == test_labels[i:i + 1000]).float().mean()
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"framework": "pytorch", "what": "full_run", "epochs": epochs,
            "batch": batch, "u8_data": u8, "seconds": elapsed,
            "peak_rss_mb": peak_kb / 1024.0}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train_batches", default="32,128,512")
    parser.add_argument("--infer_batches", default="1,1000")
    parser.add_argument("--seconds", type=float, default=3.0,
                        help="minimum timing window per measurement")
    parser.add_argument("--full_run", type=int, default=0, metavar="EPOCHS",
                        help="also train EPOCHS epochs and report peak RSS")
    parser.add_argument("--u8_data", action="store_true",
                        help="--full_run keeps its images as uint8")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for b in filter(None, args.train_batches.split(",")):
        print(json.dumps(bench_train(int(b), args.seconds)), flush=True)
    for b in filter(None, args.infer_batches.split(",")):
        print(json.dumps(bench_infer(int(b), args.seconds)), flush=True)
    if args.full_run:
        print(json.dumps(full_run(args.full_run, 128, args.u8_data)),
              flush=True)


if __name__ == "__main__":
    main()
