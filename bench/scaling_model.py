#!/usr/bin/python3
"""Predicts data-parallel step times of the lecture model beyond one machine.

A ring allreduce of S bytes over P processes sends and receives
2 (P-1)/P * S bytes per process in 2 (P-1) latency-bound rounds, so

    T_comm(P) = 2 (P-1)/P * S / bandwidth + 2 (P-1) * latency
    T_step(P) = T_compute(b) + T_comm(P) - hidden(P)
    hidden(P) = min(--hidden * T_comm(P), --window * T_compute(b))

where b is the per-process batch: communication hides only behind the part
of the backward pass that remains once the first bucket is ready (--window
of the compute), and at most the fraction of it that overlap was measured
to hide (--hidden). Inputs default to what
bench/dist_bench.sh measured on the 2-core Zen 3 machine (see
bench/README.md); pass a measured 2-process line with --check to compare.

    /usr/bin/python3 bench/scaling_model.py
    /usr/bin/python3 bench/scaling_model.py --check "processes=2 ... step_ms=..."
"""

import argparse
import re

# The lecture model's trainable floats: conv1 32*25+32, conv2 64*32*25+64,
# dense1 1024*1000+1000, dense2 1000*10+10.
GRADIENT_BYTES = 4 * (32 * 25 + 32 + 64 * 32 * 25 + 64 + 1024 * 1000 + 1000 +
                      1000 * 10 + 10)


def ring_ms(p, bytes_, gbit, latency_us):
    if p == 1:
        return 0.0
    bandwidth = gbit * 1e9 / 8  # bytes per second on the wire
    return 1e3 * (2 * (p - 1) / p * bytes_ / bandwidth +
                  2 * (p - 1) * latency_us * 1e-6)


def step_ms(p, per_process_batch, args, gbit):
    compute = per_process_batch / args.images_per_s * 1e3 + args.fixed_ms
    comm = ring_ms(p, GRADIENT_BYTES, gbit, args.latency_us)
    hidden = min(args.hidden * comm, args.window * compute)
    return compute, comm, compute + comm - hidden


def table(args, title, batch_of):
    print(f"\n{title}")
    print("| processes | batch per process | compute ms | ring ms 10 Gbit/s | "
          "step ms 10G | images/s 10G | ring ms 100 Gbit/s | step ms 100G | "
          "images/s 100G |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in [1, 2, 4, 8, 16, 32, 64]:
        b = batch_of(p)
        row = [str(p), f"{b:g}"]
        for gbit in (10, 100):
            compute, comm, step = step_ms(p, b, args, gbit)
            if gbit == 10:
                row.append(f"{compute:.1f}")
            row += [f"{comm:.2f}", f"{step:.1f}", f"{p * b / step * 1e3:.0f}"]
        print("| " + " | ".join(row) + " |")


def check(args):
    fields = dict(re.findall(r"(\w+)=([\d.]+)", args.check))
    p = int(fields["processes"])
    batch = int(fields["batch"]) / p
    measured = float(fields["step_ms"])
    inflight = float(fields["inflight_comm_ms"])
    exposed = float(fields["exposed_comm_ms"])
    compute = batch / args.images_per_s * 1e3 + args.fixed_ms
    print(f"\ncheck against the measured {p}-process run (shared memory, one host):")
    print(f"  compute predicted from the 1-process rate: {compute:.1f} ms per step")
    print(f"  communication in flight {inflight:.2f} ms, exposed {exposed:.2f} ms "
          f"({100 * (1 - exposed / inflight) if inflight else 0:.0f}% hidden)")
    print(f"  predicted step = compute + exposed = {compute + exposed:.1f} ms; "
          f"measured {measured:.1f} ms ({measured / (compute + exposed):.2f}x)")
    if inflight > 0:
        effective = 2 * (p - 1) / p * GRADIENT_BYTES / (inflight * 1e-3)
        print(f"  effective allreduce bandwidth here: {effective / 1e9:.2f} GB/s "
              f"= {effective * 8 / 1e9:.1f} Gbit/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images_per_s", type=float, default=1250,
                        help="training images per second of one process on one core")
    parser.add_argument("--fixed_ms", type=float, default=1.5,
                        help="per-step cost independent of the batch (the update)")
    parser.add_argument("--window", type=float, default=0.5,
                        help="fraction of the compute that can hide communication")
    parser.add_argument("--hidden", type=float, default=1.0,
                        help="the most of the communication overlap hides")
    parser.add_argument("--latency_us", type=float, default=10,
                        help="per-message latency of the network")
    parser.add_argument("--check", default="",
                        help="a dist_bench result line to compare with")
    args = parser.parse_args()
    print(f"lecture model: {GRADIENT_BYTES / 1e6:.2f} MB of gradients per step; "
          f"{args.images_per_s:g} images/s per process, {args.fixed_ms:g} ms fixed, "
          f"overlap hides up to {args.hidden:g} of the communication within "
          f"{args.window:g} of the compute, {args.latency_us:g} us latency")
    table(args, "Weak scaling: 128 images per process (global batch 128 P)",
          lambda p: 128)
    table(args, "Strong scaling: global batch 128 split between the processes",
          lambda p: 128 / p)
    if args.check:
        check(args)


if __name__ == "__main__":
    main()
