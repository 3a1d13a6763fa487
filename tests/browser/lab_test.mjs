// Drive a notebook in a running JupyterLab with the system Chromium (playwright-core, no download).
//
//   node lab_test.mjs --url http://127.0.0.1:8888 --token T --notebook lesson.ipynb --out runs/browser
//
// Opens the notebook, runs all cells, waits for the kernel to finish, fails on any error output,
// then moves a latent-explorer slider and checks that the generated image changes. Screenshots
// and result.json go to --out. Exit code 0 = pass, 1 = fail (the reason is printed last).
// The JupyterLab server must run with --LabApp.expose_app_in_browser=True (window.jupyterapp).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string', default: '' },
    notebook: { type: 'string' },
    out: { type: 'string', default: 'runs/browser' },
    'run-timeout': { type: 'string', default: '600' }, // seconds for Run All
    slider: { type: 'string', default: 'direction 1' }, // label of the slider to move
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH || '/usr/bin/chromium' },
  },
});
if (!opts.url || !opts.notebook) {
  console.error('usage: node lab_test.mjs --url URL --token TOKEN --notebook PATH [--out DIR]');
  process.exit(2);
}
fs.mkdirSync(opts.out, { recursive: true });

const t0 = Date.now();
const timings = {};
const mark = (name) => {
  timings[name] = (Date.now() - t0) / 1000;
  console.log(`[${timings[name].toFixed(1)}s] ${name}`);
};
const result = { notebook: opts.notebook, ok: false, timings };
const shot = (page, name) => page.screenshot({ path: path.join(opts.out, name) });

class TestFailure extends Error {}
function check(condition, message) {
  if (!condition) throw new TestFailure(message);
}

// Runs in the page: the notebook's cells as plain data (from the model, not the DOM).
function readCells() {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = Array.from(panel.content.model.cells);
  return cells.map((cell, index) => {
    const outputs = cell.type === 'code' ? cell.outputs.toJSON() : [];
    return {
      index,
      type: cell.type,
      executionCount: cell.type === 'code' ? cell.executionCount : null,
      source: cell.sharedModel.getSource().slice(0, 80),
      errors: outputs
        .filter((o) => o.output_type === 'error')
        .map((o) => `${o.ename}: ${o.evalue}`),
      stderr: outputs
        .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
        .map((o) => (Array.isArray(o.text) ? o.text.join('') : o.text))
        .join(''),
      mimeTypes: outputs.flatMap((o) => Object.keys(o.data || {})),
    };
  });
}

// Runs in the page: a short hash of an <img>'s bytes (its src is a blob: or data: URL).
async function imageHash(img) {
  const bytes = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
  let hash = 2166136261; // FNV-1a, enough to tell two pictures apart
  for (const b of bytes) hash = Math.imul(hash ^ b, 16777619) >>> 0;
  return `${bytes.length}:${hash.toString(16)}`;
}

const browser = await chromium.launch({
  executablePath: opts.chromium,
  headless: true,
  chromiumSandbox: false, // root in a container: --no-sandbox
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--disable-background-networking',
    '--disable-quic',
    '--no-first-run',
    '--disable-component-update',
    '--disable-sync',
  ],
});
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  // Never touch the network: only the local JupyterLab is reachable (the Colab badge is not).
  const local = new URL(opts.url).host;
  result.blocked = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.host === local || url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    result.blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
  page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (msg) => msg.type() === 'error' && consoleErrors.push(msg.text()));
  page.on('pageerror', (err) => consoleErrors.push(String(err)));
  result.consoleErrors = consoleErrors;

  const notebookUrl = `${opts.url}/lab/tree/${opts.notebook.split('/').map(encodeURIComponent).join('/')}`;
  await page.goto(`${notebookUrl}?token=${encodeURIComponent(opts.token)}`);
  await page.waitForFunction(
    (nbPath) => {
      const panel = window.jupyterapp?.shell?.currentWidget;
      return panel?.context?.path === nbPath && panel.context.isReady && panel.content?.model;
    },
    opts.notebook,
    { timeout: 120_000 }
  );
  mark('notebook opened');
  // The kernel named in the notebook's metadata starts by itself; wait until it is idle.
  await page.waitForFunction(
    () => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle',
    null,
    { timeout: 120_000, polling: 500 }
  );
  mark('kernel idle');
  await shot(page, '01_opened.png');

  // Run > Run All Cells, through the same command the menu uses.
  await page.evaluate(() => {
    window.__runAll = 'running';
    window.jupyterapp.commands
      .execute('notebook:run-all-cells')
      .then((ok) => (window.__runAll = ok ? 'done' : 'stopped'))
      .catch((err) => (window.__runAll = `failed: ${err}`));
  });
  await page.waitForFunction(
    () => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
      return window.__runAll !== 'running' && kernel?.status === 'idle';
    },
    null,
    { timeout: Number(opts['run-timeout']) * 1000, polling: 500 }
  );
  mark('all cells ran');
  const cells = await page.evaluate(readCells);
  result.cells = cells;
  result.runAll = await page.evaluate(() => window.__runAll);
  await shot(page, '02_executed.png');

  const code = cells.filter((c) => c.type === 'code');
  const errors = code.flatMap((c) => c.errors.map((e) => `cell ${c.index}: ${e}`));
  check(errors.length === 0, `error output in the notebook:\n  ${errors.join('\n  ')}`);
  const tracebacks = code.filter((c) => /Traceback|Error:/.test(c.stderr));
  check(
    tracebacks.length === 0,
    `traceback on stderr in cell(s) ${tracebacks.map((c) => c.index)}: ${tracebacks.map((c) => c.stderr).join('\n')}`
  );
  const notRun = code.filter((c) => c.executionCount === null);
  check(
    result.runAll === 'done' && notRun.length === 0,
    `Run All ended with '${result.runAll}'; cells without an execution count: ${notRun.map((c) => c.index)}`
  );
  check(
    code.some((c) => c.mimeTypes.includes('application/vnd.jupyter.widget-view+json')),
    'no cell shows a widget (expected the latent explorer)'
  );

  // Widgets rendered (needs the jupyterlab_widgets extension): the first slider with that label,
  // and the image of the explorer box around it.
  const slider = page
    .locator('.widget-slider', { has: page.locator('.widget-label', { hasText: opts.slider }) })
    .first();
  await slider.waitFor({ state: 'visible', timeout: 30_000 });
  const box = (await slider.evaluateHandle((el) => el.closest('.widget-vbox'))).asElement();
  const img = box && (await box.$('img.widget-image'));
  check(img, `no widget image in the box around the slider '${opts.slider}'`);
  await box.scrollIntoViewIfNeeded();
  result.sliders = await page.locator('.widget-slider').count();
  const readout = slider.locator('.widget-readout');
  const before = { src: await img.getAttribute('src'), hash: await img.evaluate(imageHash) };
  const readoutBefore = (await readout.textContent()).trim();
  await shot(page, '03_explorer_before.png');
  await box.screenshot({ path: path.join(opts.out, '03_explorer_widget_before.png') });
  mark('explorer rendered');

  // Move the slider like a learner: keyboard on the focused handle, else drag it with the mouse.
  const handle = slider.locator('.noUi-handle, .ui-slider-handle').first();
  await handle.focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  const changed = () =>
    page
      .waitForFunction(([el, old]) => el.src !== old, [img, before.src], { timeout: 15_000 })
      .then(
        () => true,
        () => false
      );
  result.moved = 'keyboard';
  let imageChanged = await changed();
  if (!imageChanged) {
    const handleBox = await handle.boundingBox();
    const x = handleBox.x + handleBox.width / 2;
    const y = handleBox.y + handleBox.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + 120, y, { steps: 10 });
    await page.mouse.up();
    result.moved = 'mouse';
    imageChanged = await changed();
  }
  const after = { src: await img.getAttribute('src'), hash: await img.evaluate(imageHash) };
  result.readout = [readoutBefore, (await readout.textContent()).trim()];
  result.image = { before, after };
  await shot(page, '04_explorer_after.png');
  await box.screenshot({ path: path.join(opts.out, '04_explorer_widget_after.png') });
  mark('slider moved');
  check(result.readout[0] !== result.readout[1], `the slider did not move (readout ${result.readout})`);
  check(imageChanged && before.hash !== after.hash, 'the image did not change after moving the slider');
  result.ok = true;
} catch (err) {
  result.error = err instanceof TestFailure ? err.message : String(err?.stack || err);
  if (page) await shot(page, '99_failure.png').catch(() => {});
} finally {
  result.seconds = (Date.now() - t0) / 1000;
  fs.writeFileSync(path.join(opts.out, 'result.json'), JSON.stringify(result, null, 2));
  await browser.close();
}
if (!result.ok) {
  console.error(`FAILED: ${result.error}`);
  process.exit(1);
}
console.log(`PASSED in ${result.seconds.toFixed(1)}s (slider moved by ${result.moved})`);
