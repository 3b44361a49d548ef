// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node, CPU) for
// nabla's export tests.
//
//   node onnx_run.cjs MANIFEST.json
//
// MANIFEST.json: {"model": "m.onnx", "output_dir": "dir",
//                 "inputs": [{"name": "images", "type": "uint8",
//                             "dims": [2, 1, 28, 28], "file": "in0.bin"}]}
// Each input file holds the tensor's elements, row-major, little-endian.
// Writes each output the same way to output_dir/output_<i>.bin and lists
// them in output_dir/outputs.json, in the model's output order.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const ARRAYS = {
  float32: Float32Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
};

function readTensor(input) {
  const Array = ARRAYS[input.type];
  if (!Array) throw new Error(`input '${input.name}': unsupported type ${input.type}`);
  // Copied into a fresh, aligned buffer: small files come back as slices
  // of a shared pool at arbitrary offsets.
  const bytes = new Uint8Array(fs.readFileSync(input.file));
  return new ort.Tensor(input.type, new Array(bytes.buffer), input.dims);
}

async function main() {
  if (process.argv.length !== 3) throw new Error('usage: node onnx_run.cjs MANIFEST.json');
  const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(manifest.model, {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
  });
  const feeds = {};
  for (const input of manifest.inputs) feeds[input.name] = readTensor(input);
  const results = await session.run(feeds);
  const outputs = session.outputNames.map((name, i) => {
    const tensor = results[name];
    const file = path.join(manifest.output_dir, `output_${i}.bin`);
    const data = tensor.data;
    fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return {name, type: tensor.type, dims: tensor.dims.map(Number), file};
  });
  fs.writeFileSync(path.join(manifest.output_dir, 'outputs.json'), JSON.stringify({outputs}));
}

main().catch((error) => {
  console.error(`onnx_run: ${error.message || error}`);
  process.exit(1);
});
