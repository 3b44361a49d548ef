// The lecture's MNIST model in ONNX Runtime (npm's onnxruntime-node, CPU
// execution provider), as nabla exports it: inference images/s at each
// batch size, printed as one JSON line per measurement like
// bench/torch_mnist.py, for bench/compare.py.
//
//   nabla export-onnx --model=data/models/lecture /tmp/lecture.onnx
//   node bench/ort_bench.js --model=/tmp/lecture.onnx --threads=2 \
//       --seconds=2 --batches=1,1000
//
// prints e.g.
//   {"what": "inference", "batch": 1000, "threads": 2,
//    "images_per_second": 9000.0, "ms_per_image": 0.111, ...}
//
// The session is made once per batch size (intra-op threads = --threads,
// inter-op 1, sequential execution, all graph optimizations), the input
// tensor once; the timed loop is session.run() alone, after two warm-up
// runs, until --seconds have passed and at least 5 runs were made.
// onnxruntime-node comes from tests/js/node_modules (tools/setup.sh
// installs it), or from the folder $NABLA_NODE_MODULES names.
'use strict';
const path = require('path');

function loadOrt() {
  const modules = process.env.NABLA_NODE_MODULES ||
      path.join(__dirname, '..', 'tests', 'js', 'node_modules');
  try {
    return require(path.join(modules, 'onnxruntime-node'));
  } catch (error) {
    throw new Error(`cannot load onnxruntime-node from ${modules} ` +
                    `(run tools/setup.sh): ${error.message}`);
  }
}

function parseArgs(argv) {
  const args = {model: '', threads: 2, seconds: 2, batches: [1, 1000]};
  for (const arg of argv) {
    const m = /^--([a-z_]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`unknown argument '${arg}'`);
    const [, name, value] = m;
    if (name === 'model') {
      args.model = value;
    } else if (name === 'threads') {
      args.threads = parseInt(value, 10);
    } else if (name === 'seconds') {
      args.seconds = parseFloat(value);
    } else if (name === 'batches') {
      args.batches = value.split(',').filter((s) => s).map((s) => parseInt(s, 10));
    } else {
      throw new Error(`unknown flag --${name}`);
    }
  }
  if (!args.model) throw new Error('--model=FILE.onnx is required');
  if (!(args.threads >= 1)) throw new Error('--threads must be at least 1');
  for (const b of args.batches) {
    if (!(b >= 1)) throw new Error(`bad batch size in --batches: ${b}`);
  }
  return args;
}

// Random input of the model's (only) input: uint8 pixels or float32 in
// [0, 1), whichever the export declares; the speed does not depend on them.
function randomInput(ort, session, batch) {
  const name = session.inputNames[0];
  const dims = [batch, 1, 28, 28];
  const n = batch * 28 * 28;
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296;
  // onnxruntime-node 1.20 does not tell the input's type; try u8 first
  // (nabla's lecture model takes u8 pixels), f32 if the model refuses it.
  const u8 = new Uint8Array(n);
  const f32 = new Float32Array(n);
  for (let i = 0; i < n; ++i) {
    const v = next();
    u8[i] = Math.floor(v * 256);
    f32[i] = v;
  }
  return {
    name,
    candidates: [new ort.Tensor('uint8', u8, dims), new ort.Tensor('float32', f32, dims)],
  };
}

async function benchBatch(ort, args, batch) {
  const session = await ort.InferenceSession.create(args.model, {
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const input = randomInput(ort, session, batch);
  let feeds = null;
  let lastError = null;
  for (const tensor of input.candidates) {
    try {
      await session.run({[input.name]: tensor});
      feeds = {[input.name]: tensor};
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (feeds === null) throw new Error(`the model takes neither u8 nor f32 input: ${lastError}`);
  await session.run(feeds);  // second warm-up
  let iters = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  for (;;) {
    await session.run(feeds);
    ++iters;
    elapsed = Number(process.hrtime.bigint() - start) * 1e-9;
    if (elapsed >= args.seconds && iters >= 5) break;
  }
  const perIter = elapsed / iters;
  const record = {
    what: 'inference',
    batch,
    threads: args.threads,
    images_per_second: batch / perIter,
    ms_per_image: 1000 * perIter / batch,
    iterations: iters,
    input_type: feeds[input.name].type,
    onnxruntime: ort.env.versions ? ort.env.versions.common : undefined,
  };
  if (typeof session.release === 'function') await session.release();
  return record;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  for (const batch of args.batches) {
    console.log(JSON.stringify(await benchBatch(ort, args, batch)));
  }
}

main().catch((error) => {
  console.error(`ort_bench: ${error.message || error}`);
  process.exit(1);
});
