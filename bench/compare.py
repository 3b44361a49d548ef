#!/usr/bin/python3
"""Compares nabla with PyTorch (and raw oneDNN) on the lecture's MNIST model.

Run it from the repository root with Debian's python, which has torch:

  /usr/bin/python3 bench/compare.py                  # end to end, 2 threads
  /usr/bin/python3 bench/compare.py --threads=1 --seconds=5 --rounds=3
  /usr/bin/python3 bench/compare.py --memory         # peak RSS of a full
                                                     # training run instead
  /usr/bin/python3 bench/compare.py --ops            # per-op table instead
  /usr/bin/python3 bench/compare.py --ops --ops_json a.json b.json  # files
  /usr/bin/python3 bench/compare.py --rounds=5 --stat=best --no_torch
                                                     # nabla vs ONNX Runtime

End to end it builds //bench:e2e_bench with -c opt, then, in this one
invocation and one after the other (never at the same time: they would
share the cores), runs it with --benchmark_format=json and runs
bench/torch_mnist.py, both with the same thread count, and then ONNX
Runtime on the same model: it builds //tools:nabla too, exports the shipped
lecture model (data/models/lecture) with `nabla export-onnx` and times its
inference at batch 1 and 1000 with bench/ort_bench.js (node and
onnxruntime-node from tests/js/node_modules; intra-op threads = --threads).
It prints, per row (training step at batch 32, 128, 512; inference at batch
1 and 1000), images/s of nabla, of the same model on raw oneDNN, of PyTorch
and of ONNX Runtime (inference only), and the ratios nabla/PyTorch,
nabla/ORT and nabla/raw. With --rounds=N they are run N times, alternating,
and the median (or with --stat=best the best) of each row is kept: the
machines are shared, and a build running beside a benchmark can slow it
down many times over. --no_torch and --no_ort leave either out;
--infer_only times inference alone (no training rows).

--memory trains one epoch of MNIST with examples/mnist (--metrics_out gives
its peak_rss_mb) and one with torch_mnist.py --full_run, and compares their
peak resident memory.

--ops runs //bench:op_bench (or reads its JSON) and prints, per op and
batch, nabla's time beside raw oneDNN's and their ratio; with --rounds=N it
asks for N repetitions of each benchmark in random interleaving.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

TRAIN_BATCHES = (32, 128, 512)
INFER_BATCHES = (1, 1000)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def bazel_bin(targets, build):
    """Builds `targets` optimized (unless told not to); returns bazel-bin."""
    if build:
        log("building " + " ".join(targets) + " (-c opt) ...")
        subprocess.run(["bazel", "build", "-c", "opt", "--noshow_progress"] +
                       list(targets), cwd=ROOT, check=True)
    out = subprocess.run(["bazel", "info", "-c", "opt", "bazel-bin"],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def thread_env(threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["NABLA_NUM_THREADS"] = str(threads)
    return env


def run_benchmark_json(binary, args, threads):
    """Runs a Google Benchmark binary; returns its parsed JSON."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [binary, "--threads=%d" % threads,
               "--benchmark_out=" + out.name,
               "--benchmark_out_format=json"] + args
        log("running " + " ".join(cmd))
        subprocess.run(cmd, cwd=ROOT, env=thread_env(threads), check=True,
                       stdout=subprocess.DEVNULL)
        with open(out.name) as f:
            return json.load(f)


def parse_name(name):
    """'BM_Conv1_Fwd_Raw/32/real_time' -> ('BM_Conv1_Fwd_Raw', 32)."""
    parts = name.split("/")
    return parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() \
        else None


def benchmark_rows(data, stat="median"):
    """{(name, arg): one benchmark entry}: of several repetitions, the one
    with the median time, or with the best (shortest) time for "best"."""
    runs = {}
    for b in data["benchmarks"]:
        if b.get("error_occurred"):
            log("benchmark %s failed: %s" % (b["name"], b.get("error_message")))
            continue
        if b.get("run_type") == "aggregate" or b.get("aggregate_name"):
            continue
        key = parse_name(b.get("run_name", b["name"]))
        runs.setdefault(key, []).append(b)
    rows = {}
    for key, entries in runs.items():
        entries.sort(key=lambda b: b["real_time"])
        rows[key] = entries[0] if stat == "best" else \
            entries[(len(entries) - 1) // 2]
    return rows


def summarize(values, stat):
    return max(values) if stat == "best" else statistics.median(values)


def seconds_per_iteration(b):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
    return b["real_time"] * scale


# ---------------------------------------------------------------------------
# End to end


def run_nabla_e2e(bin_dir, threads, seconds, stat, infer_only=False):
    args = ["--benchmark_min_time=%g" % seconds]
    if infer_only:
        args.append("--benchmark_filter=BM_LectureInference")
    data = run_benchmark_json(
        os.path.join(bin_dir, "bench", "e2e_bench"), args, threads)
    return nabla_e2e_rates(data, stat)


def nabla_e2e_rates(data, stat):
    """{(what, batch, "nabla" or "raw"): images/s} from e2e_bench's JSON."""
    rows = benchmark_rows(data, stat)
    result = {}
    for what, name, batches in (("train", "BM_LectureTrainStep", TRAIN_BATCHES),
                                ("infer", "BM_LectureInference", INFER_BATCHES)):
        for batch in batches:
            for variant, suffix in (("nabla", ""), ("raw", "_Raw")):
                b = rows.get((name + suffix, batch))
                if b is not None:
                    result[(what, batch, variant)] = b["items_per_second"]
    return result, data.get("context", {})


def export_onnx(bin_dir, path):
    """Exports the shipped lecture model to `path` with `nabla export-onnx`."""
    cmd = [os.path.join(bin_dir, "tools", "nabla"), "export-onnx",
           "--model=" + os.path.join(ROOT, "data", "models", "lecture"), path]
    log("running " + " ".join(cmd))
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def run_ort_e2e(model, threads, seconds):
    """{(what, batch, "ort"): images/s} from bench/ort_bench.js, or {} (and a
    message) when node or onnxruntime-node is missing."""
    cmd = ["node", os.path.join(HERE, "ort_bench.js"), "--model=" + model,
           "--threads=%d" % threads, "--seconds=%g" % seconds,
           "--batches=" + ",".join(map(str, INFER_BATCHES))]
    log("running " + " ".join(cmd))
    try:
        out = subprocess.run(cmd, cwd=ROOT, env=thread_env(threads),
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        log("ONNX Runtime left out: %s %s" % (e, getattr(e, "stderr", "")))
        return {}
    return {(what, batch, "ort"): v for (what, batch, _), v in
            torch_rates(out).items()}


def run_torch_e2e(threads, seconds, infer_only=False):
    cmd = [sys.executable, os.path.join(HERE, "torch_mnist.py"),
           "--threads=%d" % threads, "--seconds=%g" % seconds,
           "--train_batches=" + ("" if infer_only else
                                 ",".join(map(str, TRAIN_BATCHES))),
           "--infer_batches=" + ",".join(map(str, INFER_BATCHES))]
    log("running " + " ".join(cmd))
    out = subprocess.run(cmd, cwd=ROOT, env=thread_env(threads), check=True,
                         capture_output=True, text=True).stdout
    return torch_rates(out)


def torch_rates(out):
    """{(what, batch, "torch"): images/s} from torch_mnist.py's JSON lines."""
    result = {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        what = {"train_step": "train", "inference": "infer"}.get(r["what"])
        if what:
            result[(what, r["batch"], "torch")] = r["images_per_second"]
    return result


def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "-"


def fmt(v, digits=0):
    return ("%%.%df" % digits) % v if v else "-"


def print_table(header, rows, markdown):
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for r in [header] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(r, widths)))


def e2e(args, bin_dir):
    rounds = []
    context = {}
    if args.e2e_json or args.torch_json:
        # Measurements made earlier, one round per file.
        for path in args.e2e_json or []:
            with open(path) as f:
                data = json.load(f)
            ours, context = nabla_e2e_rates(data, args.stat)
            rounds.append(ours)
        for path in args.torch_json or []:
            with open(path) as f:
                rounds.append(torch_rates(f.read()))
        for path in args.ort_json or []:
            with open(path) as f:
                rounds.append({(w, b, "ort"): v for (w, b, _), v in
                               torch_rates(f.read()).items()})
    model = None
    if not rounds and not args.no_ort:
        model_dir = tempfile.mkdtemp(prefix="nabla_ort_")
        model = os.path.join(model_dir, "lecture.onnx")
        export_onnx(bin_dir, model)
    for i in range(0 if rounds else args.rounds):
        log("round %d of %d" % (i + 1, args.rounds))
        # One after the other, never at the same time: they share the cores.
        ours, context = run_nabla_e2e(bin_dir, args.threads, args.seconds,
                                      args.stat, args.infer_only)
        torch = {} if args.no_torch else run_torch_e2e(
            args.threads, args.seconds, args.infer_only)
        ort = {} if model is None else run_ort_e2e(model, args.threads,
                                                   args.seconds)
        rounds.append({**ours, **torch, **ort})
    if model is not None:
        os.remove(model)
        os.rmdir(os.path.dirname(model))
    keys = set().union(*rounds)
    # Rates: "best" keeps the highest of the rounds.
    median = {k: summarize([r[k] for r in rounds if k in r], args.stat)
              for k in keys}

    header = ["row", "nabla img/s", "raw oneDNN img/s", "PyTorch img/s",
              "ORT img/s", "nabla/PyTorch", "nabla/ORT", "nabla/raw",
              "nabla ms/img", "PyTorch ms/img", "ORT ms/img"]
    rows = []
    for what, batches in (("train", TRAIN_BATCHES), ("infer", INFER_BATCHES)):
        if what == "train" and args.infer_only:
            continue
        for batch in batches:
            n = median.get((what, batch, "nabla"))
            r = median.get((what, batch, "raw"))
            t = median.get((what, batch, "torch"))
            o = median.get((what, batch, "ort"))
            label = ("training step, batch %d" if what == "train"
                     else "inference, batch %d") % batch
            rows.append([label, fmt(n), fmt(r), fmt(t), fmt(o), ratio(n, t),
                         ratio(n, o), ratio(n, r),
                         fmt(n and 1000.0 / n, 3), fmt(t and 1000.0 / t, 3),
                         fmt(o and 1000.0 / o, 3)])
    source = ("%d saved files" % len(rounds)
              if args.e2e_json or args.torch_json or args.ort_json
              else "%d rounds, %g s per measurement" % (args.rounds,
                                                        args.seconds))
    print("threads: %d, %s (%s of them); %s; load average now %s" % (
        args.threads, source, args.stat,
        ", ".join("%s %s" % kv for kv in sorted(context.items())
                  if kv[0] in ("onednn", "load_avg", "nabla_threads")),
        " ".join("%.2f" % v for v in os.getloadavg())))
    print_table(header, rows, args.markdown)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"rounds": [{"%s/%s/%s" % k: v for k, v in r.items()}
                                  for r in rounds]}, f, indent=1)


# ---------------------------------------------------------------------------
# Peak memory of a full training run


def memory(args, bin_dir):
    with tempfile.NamedTemporaryFile(suffix=".json") as metrics:
        cmd = [os.path.join(bin_dir, "examples", "mnist"),
               "--epochs=%d" % args.memory_epochs, "--threads=%d" % args.threads,
               "--metrics_out=" + metrics.name]
        log("running " + " ".join(cmd))
        subprocess.run(cmd, cwd=ROOT, env=thread_env(args.threads), check=True,
                       stdout=subprocess.DEVNULL)
        with open(metrics.name) as f:
            ours = json.load(f)
    torch = {}
    # PyTorch as torch_mnist.py has always run it (f32 images in memory),
    # and with uint8 images converted per batch, as nabla keeps them.
    for u8 in (False, True):
        cmd = [sys.executable, os.path.join(HERE, "torch_mnist.py"),
               "--threads=%d" % args.threads, "--train_batches=",
               "--infer_batches=", "--full_run=%d" % args.memory_epochs]
        if u8:
            cmd.append("--u8_data")
        log("running " + " ".join(cmd))
        out = subprocess.run(cmd, cwd=ROOT, env=thread_env(args.threads),
                             check=True, capture_output=True,
                             text=True).stdout
        torch[u8] = [json.loads(l) for l in out.splitlines()
                     if l.startswith("{")][-1]
    header = ["full training run (%d epoch%s, batch 128)" % (
        args.memory_epochs, "s" if args.memory_epochs > 1 else ""),
        "nabla", "PyTorch f32 data", "PyTorch u8 data", "nabla/PyTorch f32",
        "nabla/PyTorch u8"]
    rows = []
    for key, label, digits in (("peak_rss_mb", "peak RSS (MB)", 1),
                               ("seconds", "seconds", 1)):
        rows.append([label, fmt(ours[key], digits),
                     fmt(torch[False][key], digits),
                     fmt(torch[True][key], digits),
                     ratio(ours[key], torch[False][key]),
                     ratio(ours[key], torch[True][key])])
    print_table(header, rows, args.markdown)


# ---------------------------------------------------------------------------
# Per-op table


def ops(args, bin_dir):
    if args.ops_json:
        # Measurements made earlier: the files' benchmarks together, as
        # repetitions of each other.
        data = {"benchmarks": []}
        for path in args.ops_json:
            with open(path) as f:
                one = json.load(f)
            data["benchmarks"] += one["benchmarks"]
            data["context"] = one.get("context", {})
    else:
        extra = ["--benchmark_min_time=%g" % args.seconds]
        if args.ops_filter:
            extra.append("--benchmark_filter=" + args.ops_filter)
        if args.rounds > 1:
            # Interleaved at random, so that nabla and its baseline share
            # whatever else the machine is doing.
            extra += ["--benchmark_repetitions=%d" % args.rounds,
                      "--benchmark_enable_random_interleaving=true"]
        data = run_benchmark_json(os.path.join(bin_dir, "bench", "op_bench"),
                                  extra, args.threads)
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(data, f, indent=1)
    rows = benchmark_rows(data, args.stat)
    # Cases in op_cases.cc's order (family_index, the registration order,
    # where one run holds them all; else the order they come in), each by
    # batch.
    first = {}
    batches = set()
    for (name, batch), b in rows.items():
        base = name[3:].rsplit("_", 2)[0] if name.endswith("_Raw") \
            else name[3:].rsplit("_", 1)[0]
        batches.add((base, batch))
        seen = first.get(base, (1 << 30, len(first)))[1]
        first[base] = (min(first.get(base, (1 << 30, 0))[0],
                           b.get("family_index", 0)), seen)
    cases = sorted(batches, key=lambda k: (first[k[0]], k[1]))
    header = ["op", "batch", "fwd us", "raw fwd us", "fwd ratio",
              "bwd us", "raw bwd us", "bwd ratio", "fwd GFLOP/s",
              "bwd GFLOP/s", "allocs/iter (raw)"]
    table = []
    for base, batch in cases:
        def get(kind):
            return rows.get(("BM_%s_%s" % (base, kind), batch))

        fwd, raw_fwd, bwd, raw_bwd = (get("Fwd"), get("Fwd_Raw"), get("Bwd"),
                                      get("Bwd_Raw"))

        def us(b):
            return seconds_per_iteration(b) * 1e6 if b else None

        def gflops(b):
            return b["FLOP/s"] / 1e9 if b and "FLOP/s" in b else None

        def allocs(b, r):
            if not b:
                return "-"
            s = "%g" % b.get("allocs_per_iter", 0)
            return s + (" (%g)" % r.get("allocs_per_iter", 0) if r else "")

        table.append([base, str(batch), fmt(us(fwd), 1), fmt(us(raw_fwd), 1),
                      ratio(us(fwd), us(raw_fwd)), fmt(us(bwd), 1),
                      fmt(us(raw_bwd), 1), ratio(us(bwd), us(raw_bwd)),
                      fmt(gflops(fwd), 2), fmt(gflops(bwd), 2),
                      allocs(fwd, raw_fwd) + " / " + allocs(bwd, raw_bwd)])
    ctx = data.get("context", {})
    print("threads: %s, oneDNN %s, load average %s" % (
        ctx.get("nabla_threads"), ctx.get("onednn"), ctx.get("load_avg")))
    print_table(header, table, args.markdown)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="minimum timing window of each measurement")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat everything, keep medians")
    parser.add_argument("--stat", choices=("median", "best"), default="median",
                        help="of the rounds, keep the median or the best: "
                        "on a busy machine interference only slows a run "
                        "down, so the best is the closer to a quiet one")
    parser.add_argument("--memory", action="store_true",
                        help="peak RSS of a full training run instead")
    parser.add_argument("--memory_epochs", type=int, default=1)
    parser.add_argument("--ops", action="store_true",
                        help="per-op table (op_bench) instead of end to end")
    parser.add_argument("--ops_json", nargs="+",
                        help="read op_bench JSON from these files instead of "
                        "running it (several: pooled as repetitions)")
    parser.add_argument("--e2e_json", nargs="+",
                        help="read e2e_bench JSON from these files instead "
                        "of running it (each file a round)")
    parser.add_argument("--torch_json", nargs="+",
                        help="read torch_mnist.py output from these files "
                        "(each file a round)")
    parser.add_argument("--ort_json", nargs="+",
                        help="read ort_bench.js output from these files "
                        "(each file a round)")
    parser.add_argument("--no_torch", action="store_true",
                        help="end to end without PyTorch")
    parser.add_argument("--no_ort", action="store_true",
                        help="end to end without ONNX Runtime")
    parser.add_argument("--infer_only", action="store_true",
                        help="end to end: inference rows only")
    parser.add_argument("--ops_filter", help="--benchmark_filter for op_bench")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json_out", help="also save the measurements here")
    parser.add_argument("--no_build", action="store_true",
                        help="use the binaries already built")
    args = parser.parse_args()

    if args.ops:
        bin_dir = None if args.ops_json else bazel_bin(
            ["//bench:op_bench"], not args.no_build)
        ops(args, bin_dir)
        return
    if args.memory:
        memory(args, bazel_bin(["//examples:mnist"], not args.no_build))
        return
    from_files = args.e2e_json or args.torch_json or args.ort_json
    e2e(args, None if from_files else
        bazel_bin(["//bench:e2e_bench"] +
                  ([] if args.no_ort else ["//tools:nabla"]),
                  not args.no_build))


if __name__ == "__main__":
    main()
