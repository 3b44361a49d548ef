// The nabla demo page: draw a digit, watch the lecture's network read it,
// and plot the activations and the loss that it was trained with.
//
// Every number shown comes from the server (examples/mnist_demo), which runs
// nabla: predictions and feature maps from the trained model, curves from
// nabla's ops and their derivatives from its autodiff. The one sum computed
// here, the 5x5 weighted sum of the detail view, is there to show how a
// feature-map pixel comes about, and is checked against the server's value.
'use strict';

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- colours

// Stops of a perceptual dark-to-bright map (after matplotlib's "inferno")
// for activations, which ReLU makes non-negative.
const INFERNO = [
  [0, 0, 4], [40, 11, 84], [101, 21, 110], [159, 42, 99],
  [212, 72, 66], [245, 125, 21], [250, 193, 39], [252, 255, 164],
];

function inferno(t) {
  t = Math.min(1, Math.max(0, t)) * (INFERNO.length - 1);
  const i = Math.min(INFERNO.length - 2, Math.floor(t));
  const f = t - i;
  const a = INFERNO[i];
  const b = INFERNO[i + 1];
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

// Blue for negative weights, white for 0, red for positive; t in [-1, 1].
function diverging(t) {
  t = Math.min(1, Math.max(-1, t));
  const white = [247, 247, 247];
  const end = t < 0 ? [49, 84, 200] : [200, 40, 40];
  const f = Math.abs(t);
  return white.map((w, k) => w + (end[k] - w) * f);
}

// Paints `values` (row-major side x side) into a side x side canvas.
function paintMap(canvas, values, offset, side, scale, colour) {
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(side, side);
  for (let p = 0; p < side * side; ++p) {
    const [r, g, b] = colour(values[offset + p] * scale);
    image.data[4 * p] = r;
    image.data[4 * p + 1] = g;
    image.data[4 * p + 2] = b;
    image.data[4 * p + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

function grey(v) {
  return [v * 255, v * 255, v * 255];
}

// Base64 of little-endian f32 bytes, as the API sends tensors.
function decodeTensor(t) {
  const bytes = Uint8Array.from(atob(t.data), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

function fmt(v, digits = 3) {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e4)) return v.toExponential(2);
  return v.toFixed(digits);
}

// ---------------------------------------------------------------- state

const state = {
  model: null,          // /api/model: filters [32,1,5,5], bias [32]
  canExplain: true,     // false once /api/model says the model has no conv1
  prediction: null,     // the last /api/predict answer, decoded
  channel: 0,           // the feature map the detail view shows
  pixel: { i: 10, j: 10 },  // the conv1 output pixel it explains
  pixelPicked: false,   // true once the user pointed at one
  curves: null,         // the last /api/activations answer
  fn: 'tanh',
  trueClass: null,      // null: follow the prediction
  bceAt: null,          // {p, loss, dloss} of the marker on the loss curve
  bcePending: null,
};

// ---------------------------------------------------------------- views

function showView() {
  const name = location.hash === '#activations' ? 'activations' : 'recognise';
  for (const v of ['recognise', 'activations']) {
    $('view-' + v).hidden = v !== name;
    $('tab-' + v).classList.toggle('active', v === name);
    $('tab-' + v).setAttribute('aria-selected', String(v === name));
  }
  if (name === 'activations') {
    if (!state.curves) loadCurves();
    else drawCurves();
  }
}

// ---------------------------------------------------------------- drawing pad

const pad = $('pad');
const padCtx = pad.getContext('2d');
let hasInk = false;
// Bumped by Clear, so that an answer about an older drawing is dropped.
let drawingVersion = 0;
let stroke = null;
// Strokes drawn so far, and the count the shown prediction saw: the pad's
// data-revision and data-predicted, which tests wait on to agree.
let revision = 0;

function clearPad() {
  padCtx.fillStyle = '#fff';
  padCtx.fillRect(0, 0, pad.width, pad.height);
  hasInk = false;
  ++drawingVersion;
  state.prediction = null;
  state.pixelPicked = false;
  pad.dataset.revision = String(++revision);
  pad.dataset.predicted = pad.dataset.revision;
  showBlank();
}

function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - rect.left) / rect.width) * pad.width,
    y: ((event.clientY - rect.top) / rect.height) * pad.height,
  };
}

function drawSegment(from, to) {
  padCtx.strokeStyle = '#111';
  padCtx.lineWidth = pad.width / 14;
  padCtx.lineCap = 'round';
  padCtx.lineJoin = 'round';
  padCtx.beginPath();
  padCtx.moveTo(from.x, from.y);
  padCtx.lineTo(to.x, to.y);
  padCtx.stroke();
  pad.dataset.revision = String(++revision);
}

pad.addEventListener('pointerdown', (event) => {
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  stroke = padPoint(event);
  drawSegment(stroke, stroke);
  hasInk = true;
  requestPrediction();
});

pad.addEventListener('pointermove', (event) => {
  if (!stroke) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const point = padPoint(e);
    drawSegment(stroke, point);
    stroke = point;
  }
  requestPrediction();
});

for (const type of ['pointerup', 'pointercancel']) {
  pad.addEventListener(type, () => {
    if (!stroke) return;
    stroke = null;
    requestPrediction();
  });
}

$('clear').addEventListener('click', clearPad);

// ---------------------------------------------------------------- predictions

// At most one request in flight: strokes that arrive meanwhile mark the
// drawing dirty, and it is sent again as soon as the answer is in.
let inFlight = false;
let dirty = false;

function requestPrediction() {
  if (!hasInk) return;
  dirty = true;
  if (!inFlight) sendPrediction();
}

async function sendPrediction() {
  inFlight = true;
  dirty = false;
  const version = drawingVersion;
  const seen = revision;
  try {
    const blob = await new Promise((resolve) => pad.toBlob(resolve, 'image/png'));
    // A model without the lecture model's conv1 still predicts.
    const url = state.canExplain ? 'api/predict?explain=1' : 'api/predict';
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'image/png' },
      body: blob,
    });
    const body = await response.json();
    if (version !== drawingVersion) return;
    if (!response.ok) {
      // A 400 is about the drawing (say, a dot too small to be a digit):
      // a hint, not an alarm.
      setStatus(body.error || `the server answered ${response.status}`, response.status !== 400);
    } else {
      showPrediction(body);
    }
    pad.dataset.predicted = String(seen);
  } catch (error) {
    setStatus('no answer from the server: ' + error.message, true);
  } finally {
    inFlight = false;
    if (dirty && hasInk) sendPrediction();
  }
}

function setStatus(text, isError = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function buildBars() {
  const bars = $('bars');
  for (let d = 0; d < 10; ++d) {
    const li = document.createElement('li');
    li.dataset.digit = String(d);
    li.title = `Use ${d} as the true class in the cross-entropy view`;
    li.innerHTML = `<span class="label">${d}</span><span class="track"><span class="fill"></span></span><span class="pct"></span>`;
    li.addEventListener('click', () => {
      state.trueClass = d;
      location.hash = '#activations';
    });
    bars.appendChild(li);
  }
}

function showBlank() {
  const digit = $('digit');
  digit.textContent = '–';
  digit.dataset.digit = '';
  $('confidence').textContent = '';
  $('timing').textContent = '';
  for (const li of $('bars').children) {
    li.classList.remove('best');
    li.querySelector('.fill').style.width = '0';
    li.querySelector('.pct').textContent = '';
  }
  const input = $('input').getContext('2d');
  input.fillStyle = '#000';
  input.fillRect(0, 0, 28, 28);
  for (const canvas of document.querySelectorAll('.grid canvas')) {
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  setStatus('Draw with the mouse, a pen or a finger.');
  drawDetail();
}

function showPrediction(answer) {
  const prediction = {
    digit: answer.digit,
    probabilities: answer.probabilities,
    input: Float32Array.from(answer.input, (v) => v / 255),
    conv1: answer.conv1 ? decodeTensor(answer.conv1) : new Float32Array(32 * 576),
    pool1: answer.pool1 ? decodeTensor(answer.pool1) : new Float32Array(32 * 144),
    timing: answer.timing_ms,
  };
  state.prediction = prediction;

  const digit = $('digit');
  digit.textContent = String(prediction.digit);
  digit.dataset.digit = String(prediction.digit);
  const p = prediction.probabilities[prediction.digit];
  $('confidence').textContent = `${(100 * p).toFixed(1)}% sure`;
  const t = prediction.timing;
  $('timing').textContent =
      `nabla: ${t.total.toFixed(2)} ms (prepare ${t.prepare.toFixed(2)}, predict ${t.predict.toFixed(2)}` +
      (t.explain != null ? `, explain ${t.explain.toFixed(2)})` : ')');
  for (const li of $('bars').children) {
    const d = Number(li.dataset.digit);
    const q = prediction.probabilities[d];
    li.classList.toggle('best', d === prediction.digit);
    li.querySelector('.fill').style.width = `${(100 * q).toFixed(1)}%`;
    li.querySelector('.pct').textContent = `${(100 * q).toFixed(q < 0.001 ? 2 : 1)}%`;
  }
  setStatus('Keep drawing, or Clear and try another.');

  if (!state.pixelPicked) state.pixel = strongestPixel(state.channel);
  paintMap($('input'), prediction.input, 0, 28, 1, grey);
  paintLayer(document.querySelectorAll('#conv1 canvas'), prediction.conv1, 24);
  paintLayer(document.querySelectorAll('#pool1 canvas'), prediction.pool1, 12);
  drawDetail();
  if (state.curves && !$('view-activations').hidden) drawCrossEntropy();
}

// One colour scale for the whole layer, so that maps compare: a filter that
// barely responds stays dark.
function paintLayer(canvases, values, side) {
  let max = 0;
  for (const v of values) max = Math.max(max, v);
  const scale = max > 0 ? 1 / max : 0;
  canvases.forEach((canvas, k) => paintMap(canvas, values, k * side * side, side, scale, inferno));
}

function buildMaps() {
  for (const [id, side] of [['conv1', 24], ['pool1', 12]]) {
    const grid = $(id);
    for (let k = 0; k < 32; ++k) {
      const canvas = document.createElement('canvas');
      canvas.width = side;
      canvas.height = side;
      canvas.title = `${id} map ${k}`;
      canvas.dataset.channel = String(k);
      canvas.addEventListener('click', () => selectChannel(k));
      grid.appendChild(canvas);
    }
  }
}

// The pixel where feature map k responds most: a good first example.
function strongestPixel(k) {
  const map = state.prediction.conv1.subarray(k * 576, (k + 1) * 576);
  let best = 0;
  for (let n = 1; n < 576; ++n) if (map[n] > map[best]) best = n;
  return { i: Math.floor(best / 24), j: best % 24 };
}

function selectChannel(k) {
  state.channel = k;
  state.pixelPicked = false;
  if (state.prediction) state.pixel = strongestPixel(k);
  for (const canvas of document.querySelectorAll('.grid canvas')) {
    canvas.classList.toggle('selected', Number(canvas.dataset.channel) === k);
  }
  drawDetail();
}

// ---------------------------------------------------------------- detail

// Draws a side x side grid of `values` into `canvas`, each cell a square.
function drawCells(canvas, values, offset, side, colour) {
  const ctx = canvas.getContext('2d');
  const cell = canvas.width / side;
  for (let i = 0; i < side; ++i) {
    for (let j = 0; j < side; ++j) {
      const [r, g, b] = colour(values[offset + i * side + j]);
      ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`;
      ctx.fillRect(j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
    }
  }
  return { ctx, cell };
}

function outline(ctx, x, y, w, h, colour, width = 2) {
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.strokeRect(x + width / 2, y + width / 2, w - width, h - width);
}

function drawDetail() {
  const k = state.channel;
  $('detail-title').textContent = `Feature map ${k}: its filter, and one pixel computed`;
  const model = state.model;
  if (!model) return;
  const { i, j } = state.pixel;
  const filter = model.filters.subarray(25 * k, 25 * k + 25);
  const bias = model.bias[k];
  let wmax = 0;
  for (const w of model.filters) wmax = Math.max(wmax, Math.abs(w));

  // The filter, with its weights written in.
  const f = drawCells($('detail-filter'), filter, 0, 5, (w) => diverging(w / wmax));
  f.ctx.font = `${Math.round(f.cell / 4.2)}px system-ui, sans-serif`;
  f.ctx.textAlign = 'center';
  f.ctx.textBaseline = 'middle';
  for (let a = 0; a < 5; ++a) {
    for (let b = 0; b < 5; ++b) {
      const w = filter[a * 5 + b];
      f.ctx.fillStyle = Math.abs(w / wmax) > 0.6 ? '#fff' : '#1d2230';
      f.ctx.fillText(w.toFixed(2), (b + 0.5) * f.cell, (a + 0.5) * f.cell);
    }
  }
  $('filter-caption').textContent = `learned 5×5 filter ${k}, bias ${fmt(bias)}`;

  const prediction = state.prediction;
  const input = prediction ? prediction.input : new Float32Array(784);
  const conv1 = prediction ? prediction.conv1 : new Float32Array(32 * 576);
  const pool1 = prediction ? prediction.pool1 : new Float32Array(32 * 144);
  let cmax = 0;
  for (const v of conv1) cmax = Math.max(cmax, v);
  const cscale = cmax > 0 ? 1 / cmax : 0;

  const inp = drawCells($('detail-input'), input, 0, 28, grey);
  outline(inp.ctx, j * inp.cell, i * inp.cell, 5 * inp.cell, 5 * inp.cell, '#ff4d6d', 3);

  const map = drawCells($('detail-map'), conv1, k * 576, 24, (v) => inferno(v * cscale));
  const pi = i >> 1;
  const pj = j >> 1;
  outline(map.ctx, 2 * pj * map.cell, 2 * pi * map.cell, 2 * map.cell, 2 * map.cell, '#9fb3ff', 2);
  outline(map.ctx, j * map.cell, i * map.cell, map.cell, map.cell, '#ff4d6d', 2);

  const pool = drawCells($('detail-pool'), pool1, k * 144, 12, (v) => inferno(v * cscale));
  outline(pool.ctx, pj * pool.cell, pi * pool.cell, pool.cell, pool.cell, '#9fb3ff', 3);

  const sum = $('sum');
  if (!prediction) {
    sum.innerHTML = '<span class="muted">Draw a digit to see the weighted sums.</span>';
    return;
  }
  // out[i][j] = ReLU(b + sum over the window of x * w): the convolution of
  // the lecture's slides (a cross-correlation, as in every framework).
  // Cells are coloured through the DOM: the page's Content-Security-Policy
  // refuses inline style attributes.
  const table = document.createElement('table');
  table.className = 'products';
  table.setAttribute('aria-label', 'pixel times weight');
  let total = 0;
  for (let a = 0; a < 5; ++a) {
    const row = table.insertRow();
    for (let b = 0; b < 5; ++b) {
      const x = input[(i + a) * 28 + (j + b)];
      const w = filter[a * 5 + b];
      const product = x * w;
      total += product;
      const cell = row.insertCell();
      const [r, g, bl] = diverging(product / wmax);
      cell.style.background = `rgb(${r | 0},${g | 0},${bl | 0})`;
      cell.title = `${fmt(x)} × ${fmt(w)}`;
      cell.textContent = fmt(product);
    }
  }
  const mine = Math.max(0, total + bias);
  const server = conv1[k * 576 + i * 24 + j];
  const agrees = Math.abs(mine - server) <= 1e-4 + 1e-4 * Math.abs(server);
  const poolWindow = [0, 1].flatMap((a) => [0, 1].map((b) => conv1[k * 576 + (2 * pi + a) * 24 + 2 * pj + b]));
  const pooled = pool1[k * 144 + pi * 12 + pj];
  const equation = document.createElement('div');
  equation.className = 'equation';
  equation.innerHTML =
      `conv1[${k}][${i}][${j}] = ReLU(Σ pixel × weight + bias)<br>` +
      `= ReLU(${fmt(total)} + ${fmt(bias)}) = <span class="value">${fmt(mine)}</span><br>` +
      (agrees
          ? `<span class="check" id="sum-check" data-agrees="true">✓ nabla computed ${fmt(server)}</span><br>`
          : `<span class="mismatch" id="sum-check" data-agrees="false">✗ nabla computed ${fmt(server)}</span><br>`) +
      `pool1[${k}][${pi}][${pj}] = max(${poolWindow.map((v) => fmt(v, 2)).join(', ')}) = <span class="value">${fmt(pooled)}</span>`;
  sum.replaceChildren(table, equation);
}

// Picks the output pixel under the pointer: on the map directly, on the
// input as the window's centre.
function trackPixel(canvas, side, offset) {
  const pick = (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = Math.floor(((event.clientX - rect.left) / rect.width) * side) - offset;
    const y = Math.floor(((event.clientY - rect.top) / rect.height) * side) - offset;
    const i = Math.min(23, Math.max(0, y));
    const j = Math.min(23, Math.max(0, x));
    state.pixelPicked = true;
    if (i !== state.pixel.i || j !== state.pixel.j) {
      state.pixel = { i, j };
      drawDetail();
    }
  };
  canvas.addEventListener('pointermove', pick);
  canvas.addEventListener('pointerdown', pick);
}

// ---------------------------------------------------------------- charts

function niceStep(range, count) {
  const raw = range / Math.max(1, count);
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (raw <= m * power) return m * power;
  }
  return 10 * power;
}

// Draws series of (xs, ys) into a canvas sized by CSS; opts: xRange, yRange,
// series [{ys, colour, dash, label}], hover (an index), marker {x, y, label}.
function drawChart(canvas, opts) {
  canvas._chart = opts;
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);

  const m = { left: 46, right: 12, top: 12, bottom: 30 };
  const [x0, x1] = opts.xRange;
  const [y0, y1] = opts.yRange;
  const px = (x) => m.left + ((x - x0) / (x1 - x0)) * (width - m.left - m.right);
  const py = (y) => height - m.bottom - ((y - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  opts._px = px;

  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#687083';
  ctx.lineWidth = 1;
  const xs = niceStep(x1 - x0, Math.max(3, Math.floor(width / 80)));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  // Grid lines, darker for the axes through 0.
  const gridLine = (at, ax, ay, bx, by) => {
    ctx.strokeStyle = Math.abs(at) < 1e-9 ? '#9aa3b5' : '#eceef2';
    ctx.beginPath();
    ctx.moveTo(ax, ay);
    ctx.lineTo(bx, by);
    ctx.stroke();
  };
  for (let x = Math.ceil(x0 / xs) * xs; x <= x1 + 1e-9; x += xs) {
    gridLine(x, px(x), m.top, px(x), height - m.bottom);
    ctx.fillText(String(+x.toFixed(3)), px(x), height - m.bottom + 6);
  }
  const ys = niceStep(y1 - y0, Math.max(3, Math.floor(height / 55)));
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let y = Math.ceil(y0 / ys) * ys; y <= y1 + 1e-9; y += ys) {
    gridLine(y, m.left, py(y), width - m.right, py(y));
    ctx.fillText(String(+y.toFixed(3)), m.left - 6, py(y));
  }
  if (opts.xLabel) {
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText(opts.xLabel, width - m.right, height - m.bottom - 4);
  }

  ctx.save();
  ctx.beginPath();
  ctx.rect(m.left, m.top, width - m.left - m.right, height - m.top - m.bottom);
  ctx.clip();
  for (const s of opts.series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = s.width || 2.2;
    ctx.setLineDash(s.dash ? [6, 4] : []);
    ctx.beginPath();
    opts.xs.forEach((x, n) => {
      // Clamp far outside the box so that steep curves still draw as lines.
      const y = Math.max(y0 - (y1 - y0), Math.min(y1 + (y1 - y0), s.ys[n]));
      if (n === 0) ctx.moveTo(px(x), py(y));
      else ctx.lineTo(px(x), py(y));
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
  if (opts.hover != null) {
    const x = opts.xs[opts.hover];
    ctx.strokeStyle = '#b8bfd0';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(px(x), m.top);
    ctx.lineTo(px(x), height - m.bottom);
    ctx.stroke();
    for (const s of opts.series) {
      ctx.fillStyle = s.colour;
      ctx.beginPath();
      ctx.arc(px(x), py(s.ys[opts.hover]), 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  if (opts.marker) {
    const { x, y, label } = opts.marker;
    ctx.fillStyle = '#ff4d6d';
    ctx.beginPath();
    ctx.arc(px(x), py(Math.min(y, y1)), 6, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillStyle = '#1d2230';
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textAlign = px(x) > width / 2 ? 'right' : 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(label, px(x) + (px(x) > width / 2 ? -10 : 10), py(Math.min(y, y1)) - 6);
  }
  ctx.restore();

  // Legend, top left inside the plot.
  let lx = m.left + 10;
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const s of opts.series) {
    const w = ctx.measureText(s.label).width;
    ctx.fillStyle = 'rgba(255,255,255,0.85)';
    ctx.fillRect(lx - 4, m.top + 2, w + 34, 18);
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 2.2;
    ctx.setLineDash(s.dash ? [6, 4] : []);
    ctx.beginPath();
    ctx.moveTo(lx, m.top + 11);
    ctx.lineTo(lx + 22, m.top + 11);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = '#1d2230';
    ctx.fillText(s.label, lx + 26, m.top + 11);
    lx += w + 44;
  }
}

// Hovering a chart marks the nearest sample and reads its values out.
function hoverable(canvas, readout) {
  const move = (event) => {
    const opts = canvas._chart;
    if (!opts || !opts._px) return;
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    let best = 0;
    opts.xs.forEach((v, n) => {
      if (Math.abs(opts._px(v) - x) < Math.abs(opts._px(opts.xs[best]) - x)) best = n;
    });
    opts.hover = best;
    drawChart(canvas, opts);
    readout.textContent = `${opts.xName} = ${fmt(opts.xs[best])}   ` +
        opts.series.map((s) => `${s.label} = ${fmt(s.ys[best], 4)}`).join('   ');
  };
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerdown', move);
  canvas.addEventListener('pointerleave', () => {
    if (canvas._chart) {
      canvas._chart.hover = null;
      drawChart(canvas, canvas._chart);
    }
  });
}

function rangeOf(seriesList, pad = 0.08) {
  let lo = 0;
  let hi = 0;
  for (const ys of seriesList) {
    for (const y of ys) {
      lo = Math.min(lo, y);
      hi = Math.max(hi, y);
    }
  }
  const span = hi - lo || 1;
  return [lo - pad * span, hi + pad * span];
}

// ---------------------------------------------------------------- activations

const FUNCTIONS = [
  { id: 'linear', label: 'linear', op: 'Identity(x)' },
  { id: 'sigmoid', label: 'sigmoid', op: 'Sigmoid(x)' },
  { id: 'tanh', label: 'tanh', op: 'Tanh(x)' },
  { id: 'relu', label: 'ReLU', op: 'Relu(x)' },
  { id: 'leaky_relu', label: 'leaky ReLU', op: 'LeakyRelu(x, α)' },
  { id: 'softmax', label: 'softmax', op: 'Softmax([x, z₁, z₂])' },
];
const COLOURS = ['#3355dd', '#e8590c', '#2f9e44', '#ae3ec9'];
let curvesTimer = null;

function alphaValue() {
  const alphas = state.curves ? state.curves.alphas : [0.01, 0.05, 0.1, 0.15, 0.2];
  return alphas[Math.min(alphas.length - 1, Number($('alpha').value))];
}

async function loadCurves() {
  const params = new URLSearchParams({
    fn: 'all', from: '-6', to: '6',
    alpha: String(alphaValue()), z1: $('z1').value, z2: $('z2').value,
  });
  try {
    const response = await fetch('api/activations?' + params);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || String(response.status));
    state.curves = body;
    drawCurves();
  } catch (error) {
    $('fn-note').textContent = 'The curves did not load: ' + error.message;
  }
}

// Sliders ask again, a little after they stop moving.
function reloadCurvesSoon() {
  clearTimeout(curvesTimer);
  curvesTimer = setTimeout(loadCurves, 60);
}

function buildFunctionChoices() {
  const choices = $('fn-choices');
  for (const f of FUNCTIONS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = f.label;
    button.dataset.fn = f.id;
    button.setAttribute('role', 'radio');
    button.addEventListener('click', () => {
      state.fn = f.id;
      drawCurves();
    });
    choices.appendChild(button);
  }
  const trueClass = $('true-class');
  for (let d = 0; d < 10; ++d) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = String(d);
    button.dataset.digit = String(d);
    button.addEventListener('click', () => {
      state.trueClass = d;
      drawCrossEntropy();
    });
    trueClass.appendChild(button);
  }
  $('alpha').addEventListener('input', () => {
    $('alpha-value').textContent = String(alphaValue());
    reloadCurvesSoon();
  });
  for (const id of ['z1', 'z2']) {
    $(id).addEventListener('input', () => {
      $(id + '-value').textContent = $(id).value;
      reloadCurvesSoon();
    });
  }
}

function drawCurves() {
  const c = state.curves;
  if (!c) return;
  for (const button of $('fn-choices').children) {
    const active = button.dataset.fn === state.fn;
    button.classList.toggle('active', active);
    button.setAttribute('aria-checked', String(active));
  }
  $('alpha-control').hidden = state.fn !== 'leaky_relu';
  $('softmax-control').hidden = state.fn !== 'softmax';
  $('alpha-value').textContent = String(alphaValue());
  const f = FUNCTIONS.find((g) => g.id === state.fn);
  let series;
  if (state.fn === 'softmax') {
    const s = c.softmax;
    series = [
      { ys: s.p[0], colour: COLOURS[0], label: 'p₀' },
      { ys: s.p[1], colour: COLOURS[2], label: 'p₁' },
      { ys: s.p[2], colour: COLOURS[3], label: 'p₂' },
      { ys: s.dp0[0], colour: COLOURS[1], dash: true, label: '∂p₀/∂x' },
      { ys: s.dp0[1], colour: '#868e96', dash: true, label: '∂p₀/∂z₁' },
    ];
    $('fn-note').textContent =
        `p = Softmax([x, z₁, z₂]) with z₁ = ${s.z1}, z₂ = ${s.z2}: the probabilities sum to 1, so raising x takes from the others. ` +
        'The derivatives are the first row of the Jacobian, ∂p₀/∂x = p₀(1 − p₀) and ∂p₀/∂z₁ = −p₀p₁, ' +
        'here from nabla\'s Gradients() of p₀, not from these formulas.';
  } else {
    const a = c.activations[state.fn];
    series = [
      { ys: a.y, colour: COLOURS[0], label: f.label + '(x)' },
      { ys: a.dy, colour: COLOURS[1], dash: true, label: 'derivative' },
    ];
    $('fn-note').textContent =
        `y = ${f.op.replace('α', String(c.alpha))} by nabla's op; its derivative by nabla's reverse-mode autodiff, ` +
        'Gradients(Sum(y), {x}), at each of the ' + c.points + ' points.';
  }
  const canvas = $('fn-chart');
  drawChart(canvas, {
    xs: c.x, xName: 'x', xLabel: 'x', series,
    xRange: [c.range.from, c.range.to], yRange: rangeOf(series.map((s) => s.ys)),
  });
  $('fn-readout').textContent = 'Move over the chart to read values.';
  drawCrossEntropy();
}

function drawCrossEntropy() {
  const c = state.curves;
  if (!c) return;
  const bce = c.cross_entropy;
  const prediction = state.prediction;
  const k = state.trueClass != null ? state.trueClass : prediction ? prediction.digit : null;
  for (const button of $('true-class').children) {
    button.classList.toggle('active', Number(button.dataset.digit) === k);
  }
  let marker = null;
  let text = 'Draw a digit on the first tab to place its loss on the curve.';
  if (prediction && k != null) {
    const p = prediction.probabilities[k];
    const at = state.bceAt;
    if (!at || at.p !== p) {
      text = '';
      placeOnCrossEntropy(p);
    } else {
      marker = { x: p, y: at.loss, label: `class ${k}: p = ${fmt(p)}, loss = ${fmt(at.loss)}` };
      text = `If the true digit is ${k}, the network gives it p = ${fmt(p, 4)}: ` +
          `the loss is ${fmt(at.loss, 4)} and its derivative ${fmt(at.dloss, 4)}` +
          (p < 1e-7 ? ' (nabla clips p at 1e-7, so the loss stops at 16.1).'
                    : p > 1 - 1e-7 ? ' (p is clipped to 1 − 1e-7 there, where the gradient is 0, as in Keras).' : '.');
    }
  }
  drawChart($('bce-chart'), {
    xs: bce.p, xName: 'p', xLabel: 'p (true class)',
    series: [
      { ys: bce.loss, colour: COLOURS[0], label: '−log p' },
      { ys: bce.dloss, colour: COLOURS[1], dash: true, label: 'derivative −1/p' },
    ],
    xRange: [0, 1], yRange: [-10, 8], marker,
  });
  $('bce-readout').textContent = text;
}

// The loss at one probability, from the server (nabla's BinaryCrossEntropy
// and its gradient), not from Math.log.
async function placeOnCrossEntropy(p) {
  if (state.bcePending === p) return;
  state.bcePending = p;
  try {
    const params = new URLSearchParams({ fn: 'cross_entropy', p: String(p) });
    const response = await fetch('api/activations?' + params);
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || String(response.status));
    state.bceAt = { p, loss: body.cross_entropy.at.loss, dloss: body.cross_entropy.at.dloss };
  } catch (error) {
    $('bce-readout').textContent = 'The loss did not load: ' + error.message;
    return;
  } finally {
    state.bcePending = null;
  }
  if (!$('view-activations').hidden) drawCrossEntropy();
}

// ---------------------------------------------------------------- start

async function loadModel() {
  try {
    const response = await fetch('api/model');
    const body = await response.json();
    if (!body.explain) {
      state.canExplain = false;
      $('sum').textContent = 'This model has no lecture-model conv1 to explain: ' + body.explain_error;
      return;
    }
    state.model = {
      filters: Float32Array.from(body.conv1.filters.values),
      bias: Float32Array.from(body.conv1.bias),
    };
    drawDetail();
  } catch (error) {
    setStatus('The server did not answer: ' + error.message, true);
  }
}

buildBars();
buildMaps();
buildFunctionChoices();
trackPixel($('detail-map'), 24, 0);
trackPixel($('detail-input'), 28, 2);
hoverable($('fn-chart'), $('fn-readout'));
hoverable($('bce-chart'), $('bce-readout'));
window.addEventListener('hashchange', showView);
window.addEventListener('resize', () => {
  if (state.curves && !$('view-activations').hidden) drawCurves();
});
// For tests and the curious, in the browser's console.
window.nablaDemo = state;
clearPad();
selectChannel(0);
showView();
loadModel();
