// The draw-a-digit demo in a real browser: starts the demo server on a free
// port of 127.0.0.1, opens the page in Debian's Chromium (headless, driven
// by playwright-core, which downloads no browser), draws digits with mouse
// events on the canvas and checks what the page shows. Prints one
// "PASS name" or "FAIL name" line per check and exits non-zero on a failure.
//
//   bazel test //tests/demo:demo_browser_test
//   bazel run //tests/demo:demo_browser_test -- --screenshot=docs/demo.png
//   node tests/demo/demo_browser.mjs --server=bazel-bin/examples/mnist_demo \
//       [--model=DIR] [--out=DIR] [--screenshot=docs/demo.png]
//
// --out (default: the test's undeclared outputs, or a new temporary folder)
// receives the screenshots (desktop, activations, phone) and the server's
// log; --screenshot also writes the desktop one there (the README's
// picture).

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

// playwright-core is installed in tests/js/node_modules (npm ci from
// tests/js/package.json; a real folder in CI, possibly a symlink elsewhere).
// Bazel runs this file through a runfiles symlink, so resolve from its real
// location in the source tree; $NABLA_JS_DIR overrides.
const here = path.dirname(fs.realpathSync(new URL(import.meta.url).pathname));
const jsDir = process.env.NABLA_JS_DIR || path.join(here, '..', 'js');
const require = createRequire(path.join(jsDir, 'package.json'));
const { chromium } = require('playwright-core');

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([^=]+)=(.*)$/.exec(a);
  if (!m) throw new Error(`unknown argument ${a}`);
  return [m[1], m[2]];
}));
// Paths typed by a user under `bazel run` are relative to where they typed.
const userPath = (p) => path.resolve(process.env.BUILD_WORKING_DIRECTORY || '.', p);
const out = args.out ? userPath(args.out)
                     : process.env.TEST_UNDECLARED_OUTPUTS_DIR ||
                       fs.mkdtempSync(path.join(os.tmpdir(), 'nabla_demo_browser_'));
fs.mkdirSync(out, { recursive: true });
if (!args.server) throw new Error('--server=PATH (the mnist_demo binary) is required');

let failures = 0;
function check(name, ok, detail = '') {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`);
  if (!ok) ++failures;
}

// Starts the server and resolves with its address once it prints it.
function startServer() {
  const serverArgs = ['--port=0', '--host=127.0.0.1'];
  if (args.model) serverArgs.push(`--model=${userPath(args.model)}`);
  const server = spawn(path.resolve(args.server), serverArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  server.exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
  const log = fs.createWriteStream(path.join(out, 'server.log'));
  server.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start in 120 s')), 120000);
    server.on('exit', (code) => reject(new Error(`the server exited with ${code}; see server.log`)));
    readline.createInterface({ input: server.stdout }).on('line', (line) => {
      log.write(line + '\n');
      const m = /serving (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ server, url: m[1] });
      }
    });
  });
}

// Strokes in pad coordinates (0-1): a list of polylines per digit.
const DIGITS = {
  7: [[[0.25, 0.2], [0.75, 0.2], [0.45, 0.85]]],
  1: [[[0.52, 0.15], [0.48, 0.85]]],
  0: [Array.from({ length: 25 }, (_, n) => {
    const t = (2 * Math.PI * n) / 24;
    return [0.5 + 0.22 * Math.sin(t), 0.5 - 0.32 * Math.cos(t)];
  })],
};

async function draw(page, digit) {
  await page.click('#clear');
  const box = await page.locator('#pad').boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  for (const line of DIGITS[digit]) {
    await page.mouse.move(...at(line[0]));
    await page.mouse.down();
    for (let k = 1; k < line.length; ++k) {
      const [a, b] = [line[k - 1], line[k]];
      for (let t = 1; t <= 8; ++t) {
        await page.mouse.move(...at([a[0] + ((b[0] - a[0]) * t) / 8, a[1] + ((b[1] - a[1]) * t) / 8]));
      }
    }
    await page.mouse.up();
  }
  // The page re-sends while strokes arrive; wait until the answer shown
  // is about the whole drawing.
  await page.waitForFunction(() => {
    const pad = document.getElementById('pad');
    return pad.dataset.predicted === pad.dataset.revision;
  }, null, { timeout: 60000 });
  return page.locator('#digit').getAttribute('data-digit');
}

async function main() {
  const { server, url } = await startServer();
  console.log(`server at ${url}; screenshots and the server's log in ${out}`);
  const browser = await chromium.launch({
    executablePath: args.chromium || '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Every request the page makes must go to this server: no CDN.
    const foreign = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('filter-caption').textContent.includes('bias'),
        null, { timeout: 30000 });
    check('page loads the model', true);

    for (const digit of [1, 0, 7]) {
      const shown = await draw(page, digit);
      check(`draws ${digit} and the page shows ${digit}`, shown === String(digit), `shown ${shown}`);
    }
    const bars = await page.locator('#bars li.best .label').textContent();
    check('the top bar is the digit shown', bars === '7', `best bar ${bars}`);
    const maps = await page.locator('#conv1 canvas').count();
    const pools = await page.locator('#pool1 canvas').count();
    check('32 conv1 and 32 pool1 maps', maps === 32 && pools === 32, `${maps} and ${pools}`);

    // Explain pixels on the stroke (the map's strongest responses, where
    // ReLU keeps the sum): the page's weighted sum of the input window must
    // equal the conv1 value nabla computed.
    const channel = 3;
    await page.locator('#conv1 canvas').nth(channel).click();
    const detail = page.locator('#detail-map');
    await detail.scrollIntoViewIfNeeded();
    const box = await detail.boundingBox();
    const strongest = await page.evaluate((k) => {
      const map = window.nablaDemo.prediction.conv1.subarray(k * 576, (k + 1) * 576);
      return Array.from(map.keys()).sort((a, b) => map[b] - map[a]).slice(0, 4)
          .map((n) => ({ i: Math.floor(n / 24), j: n % 24, value: map[n] }));
    }, channel);
    let agreed = 0;
    for (const { i, j, value } of strongest) {
      await page.mouse.move(box.x + ((j + 0.5) / 24) * box.width, box.y + ((i + 0.5) / 24) * box.height);
      const picked = await page.evaluate(() => window.nablaDemo.pixel);
      const agrees = await page.locator('#sum-check').getAttribute('data-agrees');
      if (picked.i === i && picked.j === j && agrees === 'true' && value > 0) ++agreed;
    }
    check('weighted sums match nabla\'s conv1', agreed === strongest.length,
        `${agreed} of ${strongest.length} pixels, values ${strongest.map((s) => s.value.toFixed(3))}`);
    await page.locator('#pad').scrollIntoViewIfNeeded();
    await page.locator('#conv1 canvas').nth(3).scrollIntoViewIfNeeded();
    const desktop = path.join(out, 'demo_desktop.png');
    await page.screenshot({ path: desktop, fullPage: true });
    if (args.screenshot) {
      fs.mkdirSync(path.dirname(userPath(args.screenshot)), { recursive: true });
      await page.screenshot({ path: userPath(args.screenshot), fullPage: true });
    }

    // The second view: curves from the server, the loss of the drawn 7.
    await page.click('#tab-activations');
    await page.waitForFunction(() => document.getElementById('fn-note').textContent.includes('Tanh'),
        null, { timeout: 30000 });
    for (const fn of ['linear', 'sigmoid', 'relu', 'leaky_relu', 'softmax']) {
      await page.click(`#fn-choices button[data-fn="${fn}"]`);
    }
    const note = await page.locator('#fn-note').textContent();
    check('softmax view explains its Jacobian', note.includes('Jacobian'), note.slice(0, 60));
    await page.waitForFunction(() => document.getElementById('bce-readout').textContent.includes('loss is'),
        null, { timeout: 30000 });
    const readout = await page.locator('#bce-readout').textContent();
    check('cross-entropy of the drawn digit', /true digit is 7/.test(readout), readout);
    await page.screenshot({ path: path.join(out, 'demo_activations.png'), fullPage: true });

    // A phone-sized screen: one column, nothing wider than the viewport.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    phone.on('pageerror', (e) => pageErrors.push(e.message));
    await phone.goto(url);
    await phone.waitForFunction(() => document.getElementById('filter-caption').textContent.includes('bias'));
    const shownOnPhone = await draw(phone, 7);
    check('phone: draws 7 and the page shows 7', shownOnPhone === '7', `shown ${shownOnPhone}`);
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    check('phone: no horizontal scrolling', width <= 390, `page is ${width}px wide`);
    await phone.screenshot({ path: path.join(out, 'demo_phone.png'), fullPage: true });

    check('no script errors', pageErrors.length === 0, pageErrors.join('; '));
    check('every request stays on the server', foreign.length === 0, foreign.join(', '));
  } finally {
    await browser.close();
    server.kill('SIGTERM');
  }
  const code = await server.exited;
  check('server stops cleanly on SIGTERM', code === 0, `exit code ${code}`);
}

main().then(() => {
  console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
  process.exit(failures ? 1 : 0);
}, (error) => {
  console.log(`FAIL demo_browser: ${error.stack || error}`);
  process.exit(1);
});
