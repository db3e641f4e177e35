// Forge dashboard: one page, no build step. Every API call sends the key kept in localStorage; live updates come from
// GET /api/orchestrator/events (Server-Sent Events read with fetch, because EventSource cannot send the key).

const KEY = 'forge.apiKey';
const main = document.getElementById('main');

// ---- DOM ------------------------------------------------------------------------------------------------------------

/** Builds an element: h('td', {class: 'x', onclick: f}, 'text', child). Text is always text, never HTML. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

const number = (value, digits = 0) => value === undefined || value === null ? '' :
  Number(value).toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
const when = (value) => value ? new Date(value).toLocaleString() : '';
const bytes = (value) => value >= 1 << 20 ? `${number(value / (1 << 20), 1)} MiB` : value >= 1024 ? `${number(value / 1024, 1)} KiB` : `${number(value)} B`;

/** A table of rows; columns are [heading, row => cell]. onSelect makes rows keyboard-selectable. */
function table(rows, columns, { onSelect, selected, label } = {}) {
  if (!rows || rows.length === 0) return h('p', { class: 'muted' }, 'None yet.');
  return h('table', { 'aria-label': label },
    h('thead', {}, h('tr', {}, columns.map(([heading]) => h('th', { scope: 'col' }, heading)))),
    h('tbody', {}, rows.map((row) => {
      const attributes = onSelect ? {
        class: 'selectable', tabindex: 0, 'aria-selected': String(selected !== undefined && selected === row.id),
        onclick: () => onSelect(row), onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onSelect(row); } },
      } : {};
      return h('tr', attributes, columns.map(([, cell]) => h('td', {}, cell(row) ?? '')));
    })));
}

const stat = (label, value) => h('div', { class: 'stat' }, h('b', {}, value), h('span', {}, label));
const card = (title, ...content) => h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...content);
const problem = (error) => h('p', { class: 'error', role: 'alert' }, error.message);

// ---- API ------------------------------------------------------------------------------------------------------------

const apiKey = () => localStorage.getItem(KEY) || '';

/** fetch with the key; JSON in (options.json) and out; a problem+json answer becomes an Error with its title and detail. */
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  headers.set('Authorization', `Bearer ${apiKey()}`);
  const init = { ...options, headers };
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    init.body = JSON.stringify(options.json);
  }
  delete init.json;
  const response = await fetch(path, init);
  if (response.status === 401) askForKey('The key was refused; enter another.');
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      message = [body.title, body.detail, body.errors && JSON.stringify(body.errors)].filter(Boolean).join(': ') || message;
    } catch { /* not JSON: the status says it */ }
    throw new Error(message);
  }
  if (options.raw) return response;
  if (response.status === 204) return null;
  return (response.headers.get('content-type') || '').includes('json') ? response.json() : response.text();
}

/** Server-Sent Events from a fetch response body: yields {event, data}. */
async function* serverSentEvents(response, signal) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  signal?.addEventListener('abort', () => reader.cancel().catch(() => {}));
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll('\r\n', '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) yield { event, data: data.join('\n') };
    }
  }
}

// ---- Key ------------------------------------------------------------------------------------------------------------

const dialog = document.getElementById('key-dialog');

function askForKey(message = '') {
  document.getElementById('key-error').textContent = message;
  if (!dialog.open) dialog.showModal();
  document.getElementById('api-key').focus();
}

document.getElementById('key-form').addEventListener('submit', () => {
  localStorage.setItem(KEY, document.getElementById('api-key').value.trim());
  document.getElementById('api-key').value = '';
  live.restart();
  route();
});
document.getElementById('forget-key').addEventListener('click', () => askForKey());

// ---- Live events ----------------------------------------------------------------------------------------------------

/** One stream per page load, reconnected with a growing pause; pages subscribe with live.on(type, handler). */
const live = {
  handlers: new Map(),
  controller: null,
  badge: document.getElementById('live'),
  on(type, handler) { this.handlers.set(type, [...(this.handlers.get(type) || []), handler]); },
  clear() { this.handlers.clear(); },
  restart() { this.controller?.abort(); this.connect(0); },
  async connect(failures) {
    if (!apiKey()) return;
    const controller = this.controller = new AbortController();
    try {
      const response = await api('/api/orchestrator/events', { raw: true, signal: controller.signal });
      for await (const { event, data } of serverSentEvents(response, controller.signal)) {
        if (event === 'ready') {
          this.badge.textContent = 'live';
          this.badge.classList.add('on');
          if (failures > 0) route(); // events may have been missed while away: reload the page's data
          failures = 0;
          continue;
        }
        const message = JSON.parse(data);
        for (const handler of this.handlers.get(event) || []) handler(message);
        for (const handler of this.handlers.get('*') || []) handler(event, message);
      }
    } catch { /* closed, refused or aborted: retried below unless aborted */ }
    this.badge.textContent = 'offline';
    this.badge.classList.remove('on');
    if (!controller.signal.aborted) setTimeout(() => this.connect(failures + 1), Math.min(30000, 1000 * 2 ** failures));
  },
};

/** Calls fn at most once per interval (events can come many a second; a page reload per event would be wasteful). */
function throttle(fn, interval = 500) {
  let timer = null;
  return () => { if (!timer) timer = setTimeout(() => { timer = null; fn(); }, interval); };
}

// ---- Charts ---------------------------------------------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
const s = (tag, attributes = {}, text) => {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== undefined) element.textContent = text;
  return element;
};

/** A line chart of series [{name, cls, points: [[x, y]]}] drawn in SVG; data-points counts the first series' points. */
function lineChart(title, series, { logY = false } = {}) {
  const width = 640, height = 240, left = 52, right = 10, top = 10, bottom = 28;
  const all = series.flatMap((line) => line.points).filter(([, y]) => Number.isFinite(y) && (!logY || y > 0));
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title, 'data-points': String(series[0]?.points.length ?? 0) });
  svg.append(s('title', {}, title));
  if (all.length === 0) {
    svg.append(s('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle' }, 'no data yet'));
    return svg;
  }
  const f = logY ? Math.log10 : (v) => v;
  const xs = all.map(([x]) => x), ys = all.map(([, y]) => f(y));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
  const px = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const py = (y) => top + (1 - (f(y) - y0) / (y1 - y0)) * (height - top - bottom);
  svg.append(s('line', { class: 'axis', x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
  svg.append(s('line', { class: 'axis', x1: left, y1: top, x2: left, y2: height - bottom }));
  const label = (v) => (logY ? 10 ** v : v).toPrecision(3);
  svg.append(s('text', { x: left - 4, y: top + 10, 'text-anchor': 'end' }, label(y1)));
  svg.append(s('text', { x: left - 4, y: height - bottom, 'text-anchor': 'end' }, label(y0)));
  svg.append(s('text', { x: left, y: height - 8 }, String(x0)));
  svg.append(s('text', { x: width - right, y: height - 8, 'text-anchor': 'end' }, `step ${x1}`));
  for (const line of series) {
    const points = line.points.filter(([, y]) => Number.isFinite(y) && (!logY || y > 0));
    if (points.length) svg.append(s('polyline', { class: line.cls, points: points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ') }));
  }
  return svg;
}

const legend = (series) => h('p', { class: 'legend' }, series.map((line) => h('span', { class: line.cls }, `■ ${line.name} `)));

// ---- Pages ----------------------------------------------------------------------------------------------------------

const pages = {};

pages.datasets = async (view, selectedId) => {
  const datasets = await api('/api/ingestion/datasets');
  const detail = h('div');
  const show = async (dataset) => {
    selectedId = dataset.id;
    detail.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const [one, versions, report] = await Promise.all([
        api(`/api/ingestion/datasets/${encodeURIComponent(dataset.id)}`),
        api(`/api/cleaning/datasets/${encodeURIComponent(dataset.id)}/versions`).catch(() => []),
        api(`/api/cleaning/datasets/${encodeURIComponent(dataset.id)}/report`).catch(() => null),
      ]);
      const t = one.totals;
      detail.replaceChildren(
        card(`Dataset ${one.id}`, h('div', { class: 'stats' },
          stat('batches', number(t.batches)), stat('documents', number(t.documents)), stat('raw', bytes(t.bytes)),
          stat('cleaned batches', number(t.cleanedBatches)), stat('kept documents', number(t.cleanedDocuments)), stat('clean', bytes(t.cleanedBytes)))),
        card('Sources', table(one.sources, [['Name', (r) => r.name], ['Kind', (r) => r.kind], ['Created', (r) => when(r.createdAt)], ['Deleted', (r) => when(r.deletedAt)]], { label: 'Sources' })),
        card('Batches', table(one.batches, [['Batch', (r) => r.id], ['Documents', (r) => number(r.documents)], ['Size', (r) => bytes(r.bytes)], ['Status', (r) => r.status], ['Received', (r) => when(r.receivedAt)]], { label: 'Batches' })),
        card('Versions', table(versions, [['Version', (r) => r.id], ['Documents', (r) => number(r.documents ?? r.statistics?.documents)], ['Sealed', (r) => when(r.sealedAt ?? r.createdAt)]], { label: 'Versions' })),
        report ? cleaningReport(report) : card('Cleaning report', h('p', { class: 'muted' }, 'Nothing cleaned yet.')));
    } catch (error) { detail.replaceChildren(problem(error)); }
  };
  view.replaceChildren(
    card('Datasets', table(datasets, [['Dataset', (r) => r.id], ['Description', (r) => r.description], ['Created', (r) => when(r.createdAt)]],
      { onSelect: (r) => { location.hash = `#/datasets/${encodeURIComponent(r.id)}`; }, selected: selectedId, label: 'Datasets' })),
    detail);
  if (selectedId) await show({ id: selectedId });
  live.on('ShardCleaned', throttle(() => { if (selectedId) show({ id: selectedId }); }, 1000));
  live.on('DatasetVersionSealed', throttle(() => { if (selectedId) show({ id: selectedId }); }, 1000));
};

function cleaningReport(report) {
  const reasons = Object.entries(report.dropped || {}).sort((a, b) => b[1] - a[1]);
  return card('Cleaning report',
    h('div', { class: 'stats' }, stat('documents in', number(report.documentsIn)), stat('kept', number(report.documentsOut)),
      stat('dropped', number(report.documentsIn - report.documentsOut)), stat('bytes in', bytes(report.bytesIn)), stat('bytes kept', bytes(report.bytesOut))),
    h('h3', {}, 'Dropped, by reason'),
    reasons.length === 0 ? h('p', { class: 'muted' }, 'Nothing dropped.') : h('ul', {}, reasons.map(([reason, count]) =>
      h('li', {}, h('details', {}, h('summary', {}, `${reason}: ${number(count)}`),
        (report.samples?.[reason] || []).map((sample) => h('pre', {}, `${sample.documentId ?? ''} ${sample.excerpt}`)))))),
    h('h3', {}, 'Redactions'),
    table(Object.entries(report.redactions || {}).map(([kind, count]) => ({ kind, count })), [['Kind', (r) => r.kind], ['Count', (r) => number(r.count)]], { label: 'Redactions' }));
}

pages.tokenizers = async (view) => {
  const load = async () => {
    const tokenizers = await api('/api/tokenizer/tokenizers');
    view.replaceChildren(card('Tokenizers', table(tokenizers, [
      ['Tokenizer', (r) => r.id], ['Kind', (r) => r.kind], ['State', (r) => r.state], ['Vocabulary', (r) => number(r.vocabularySize ?? r.vocabulary)],
      ['Chars/token', (r) => number(r.charactersPerToken ?? r.compression, 2)], ['Dataset version', (r) => r.datasetVersion], ['Created', (r) => when(r.createdAt)]],
    { label: 'Tokenizers' })));
  };
  await load();
  live.on('TokenizerTrained', throttle(load));
  live.on('DatasetTokenized', throttle(load));
};

pages.runs = async (view, selectedId) => {
  let runs = await api('/api/trainer/runs');
  const list = h('div'), detail = h('div');
  const drawList = () => list.replaceChildren(card('Training runs', table(runs, [
    ['Run', (r) => r.id], ['Name', (r) => r.name], ['State', (r) => r.state], ['Step', (r) => `${number(r.step)} / ${number(r.training?.maxSteps)}`],
    ['Loss', (r) => number(r.lastLoss, 3)], ['Validation', (r) => number(r.validationLoss, 3)], ['Tokens/s', (r) => number(r.tokensPerSecond)]],
  { onSelect: (r) => { location.hash = `#/runs/${encodeURIComponent(r.id)}`; }, selected: selectedId, label: 'Training runs' })));
  drawList();
  view.replaceChildren(list, detail);

  // The cancel button stays put while the figures and charts around it are redrawn, so a click never lands on a replaced node.
  let run = null, shownId = null;
  const figures = h('div'), charts = h('div'), checkpoints = h('div');
  const cancelButton = h('button', { type: 'button', id: 'cancel-run', onclick: () => cancel() }, 'Cancel run');
  const drawDetail = () => {
    if (!run) return;
    if (shownId !== run.id) {
      shownId = run.id;
      detail.replaceChildren(card(`Run ${run.id}`, figures, h('div', { class: 'row' }, cancelButton), charts, h('h3', {}, 'Checkpoints'), checkpoints));
    }
    const train = { name: 'training loss', cls: 'train', points: run.curve.filter((p) => p.loss != null).map((p) => [p.step, p.loss]) };
    const validation = { name: 'validation loss', cls: 'validation', points: run.curve.filter((p) => p.validationLoss != null).map((p) => [p.step, p.validationLoss]) };
    const rate = { name: 'learning rate', cls: 'lr', points: run.curve.filter((p) => p.learningRate != null).map((p) => [p.step, p.learningRate]) };
    const ended = ['Completed', 'Failed', 'Cancelled'].includes(run.state);
    figures.replaceChildren(h('div', { class: 'stats' }, stat('state', run.state), stat('step', `${number(run.step)} / ${number(run.training?.maxSteps)}`),
        stat('loss', number(run.lastLoss, 3)), stat('validation loss', number(run.validationLoss, 3)), stat('tokens/s', number(run.tokensPerSecond)),
        stat('learning rate', run.learningRate == null ? '' : Number(run.learningRate).toExponential(2))),
      run.failure ? h('p', { class: 'error' }, run.failure) : '');
    cancelButton.disabled = ended || run.cancelRequested;
    cancelButton.textContent = run.cancelRequested && !ended ? 'Cancelling…' : 'Cancel run';
    charts.replaceChildren(h('div', { class: 'grid2' },
      h('div', {}, h('h3', {}, 'Loss'), legend([train, validation]), lineChart('Training and validation loss by step', [train, validation], { logY: true })),
      h('div', {}, h('h3', {}, 'Learning rate'), legend([rate]), lineChart('Learning rate by step', [rate]))));
    checkpoints.replaceChildren(table(run.checkpoints, [['Step', (c) => number(c.step)], ['Manifest', (c) => c.manifestKey], ['Saved', (c) => when(c.savedAt)]], { label: 'Checkpoints' }));
  };
  const redrawDetail = throttle(drawDetail, 250);
  const cancel = async () => {
    try { await api(`/api/trainer/runs/${encodeURIComponent(run.id)}/cancel`, { method: 'POST', json: { reason: 'cancelled from the dashboard' } }); run.cancelRequested = true; drawDetail(); }
    catch (error) { figures.append(problem(error)); }
  };
  const point = (step) => {
    let p = run.curve.find((x) => x.step === step);
    if (!p) { p = { step }; run.curve.push(p); run.curve.sort((a, b) => a.step - b.step); }
    return p;
  };
  const reload = async () => {
    runs = await api('/api/trainer/runs');
    drawList();
    if (selectedId) { run = await api(`/api/trainer/runs/${encodeURIComponent(selectedId)}`); drawDetail(); }
  };
  if (selectedId) { run = await api(`/api/trainer/runs/${encodeURIComponent(selectedId)}`); drawDetail(); }

  const reloadSoon = throttle(reload, 300);
  const redrawList = throttle(drawList, 500);
  live.on('TrainingRunProgressed', (e) => {
    const row = runs.find((r) => r.id === e.runId);
    if (!row) { reloadSoon(); return; }
    Object.assign(row, { step: e.step, lastLoss: e.loss, tokensPerSecond: e.tokensPerSecond, state: 'Running' });
    redrawList();
    if (run?.id !== e.runId) return;
    Object.assign(point(e.step), { loss: e.loss, learningRate: e.learningRate });
    Object.assign(run, { step: e.step, lastLoss: e.loss, tokensPerSecond: e.tokensPerSecond, learningRate: e.learningRate, state: 'Running' });
    redrawDetail();
  });
  live.on('TrainingRunEvaluated', (e) => {
    if (run?.id !== e.runId) return;
    point(e.step).validationLoss = e.validationLoss;
    run.validationLoss = e.validationLoss;
    redrawDetail();
  });
  live.on('CheckpointSaved', (e) => {
    if (run?.id !== e.runId) return;
    run.checkpoints = [...run.checkpoints.filter((c) => c.step !== e.step), { step: e.step, manifestKey: e.manifestKey, savedAt: new Date().toISOString() }];
    redrawDetail();
  });
  for (const type of ['TrainingRunCompleted', 'TrainingRunFailed', 'TrainingRunCancelled']) live.on(type, reloadSoon);
};

pages.models = async (view) => {
  const compare = new Set();
  const load = async () => {
    const [versions, evaluations] = await Promise.all([api('/api/orchestrator/models'), api('/api/evaluator/evaluations').catch(() => [])]);
    const status = h('div', { role: 'status', 'aria-live': 'polite' });
    const act = (what) => async () => {
      try { await what(); await load(); } catch (error) { status.replaceChildren(problem(error)); }
    };
    const promote = (v) => act(() => api(`/api/orchestrator/models/${encodeURIComponent(v.id)}/promote`, { method: 'POST', json: { by: 'dashboard', reason: 'promoted from the dashboard' } }));
    const rollback = (model) => act(() => api('/api/orchestrator/models/rollback', { method: 'POST', json: { model, by: 'dashboard', reason: 'rolled back from the dashboard' } }));
    const families = [...new Set(versions.map((v) => v.model))];
    const chosen = versions.filter((v) => compare.has(v.id));
    const metricRows = [...new Set(chosen.flatMap((v) => Object.entries(v.metrics || {}).flatMap(([set, values]) => Object.keys(values).map((m) => `${set} ${m}`))))].sort();
    view.replaceChildren(
      card('Model versions', status,
        table(versions, [
          ['Compare', (v) => h('input', { type: 'checkbox', 'aria-label': `Compare ${v.id}`, checked: compare.has(v.id), onchange: (e) => { if (e.target.checked) compare.add(v.id); else compare.delete(v.id); load(); } })],
          ['Version', (v) => v.id], ['Model', (v) => v.model], ['State', (v) => v.state], ['Run', (v) => v.runId],
          ['Validation loss', (v) => number(v.metrics?.validation?.loss, 3)], ['Perplexity', (v) => number(v.metrics?.validation?.perplexity, 2)],
          ['Registered', (v) => when(v.registeredAt)],
          ['', (v) => v.state === 'Promoted' ? null : h('button', { type: 'button', onclick: promote(v) }, 'Promote')]], { label: 'Model versions' }),
        h('div', { class: 'row' }, families.map((model) => h('button', { type: 'button', class: 'quiet', onclick: rollback(model) }, `Roll back ${model}`)))),
      chosen.length < 2 ? card('Compare versions', h('p', { class: 'muted' }, 'Tick two or more versions to compare their metrics.'))
        : card('Compare versions', table(metricRows.map((id) => ({ id })), [['Metric', (r) => r.id],
          ...chosen.map((v) => [v.id, (r) => { const [set, m] = r.id.split(' '); return number(v.metrics?.[set]?.[m], 4); }])], { label: 'Comparison' })),
      card('Evaluations', table(evaluations, [['Evaluation', (e) => e.id], ['Eval set', (e) => e.evalSet], ['Version', (e) => e.modelVersionId],
        ['Metrics', (e) => Object.entries(e.metrics || {}).map(([k, v]) => `${k} ${number(v, 3)}`).join(', ')], ['When', (e) => when(e.completedAt ?? e.createdAt)]], { label: 'Evaluations' })));
  };
  await load();
  const reload = throttle(load);
  for (const type of ['ModelVersionRegistered', 'ModelPromoted', 'ModelRolledBack', 'PromotionRefused', 'EvaluationCompleted']) live.on(type, reload);
};

pages.builds = async (view) => {
  const load = async () => {
    const builds = await api('/api/orchestrator/builds');
    const act = (build, verb) => async () => {
      try { await api(`/api/orchestrator/builds/${encodeURIComponent(build.id)}/${verb}`, { method: 'POST' }); await load(); } catch (error) { view.prepend(problem(error)); }
    };
    view.replaceChildren(card('Builds', builds.length === 0 ? h('p', { class: 'muted' }, 'No builds yet: run forge build recipes/fortunes.yaml.') : null),
      ...builds.map((build) => card(`Build ${build.id} (${build.model}): ${build.state}`,
        build.failure ? h('p', { class: 'error' }, build.failure) : null,
        table(build.stages, [['Stage', (st) => st.name], ['State', (st) => st.state],
          ['Progress', (st) => h('div', { class: 'bar', role: 'progressbar', 'aria-label': `${st.name} progress`, 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(100 * (st.state === 'Completed' ? 1 : st.fraction ?? 0)) },
            h('div', { 'data-width': '' }))],
          ['Detail', (st) => st.detail], ['Attempts', (st) => st.attempts]], { label: `Stages of ${build.id}` }),
        h('div', { class: 'row' },
          h('button', { type: 'button', onclick: act(build, 'cancel'), disabled: build.state !== 'Running' }, 'Cancel'),
          h('button', { type: 'button', class: 'quiet', onclick: act(build, 'retry'), disabled: build.state !== 'Failed' }, 'Retry')))));
    // Widths through the CSSOM: the page's content security policy allows no inline style attributes.
    for (const bar of view.querySelectorAll('.bar')) bar.firstChild.style.width = `${bar.getAttribute('aria-valuenow')}%`;
  };
  await load();
  live.on('BuildProgressed', throttle(load));
};

pages.playground = async (view) => {
  const served = await api('/api/inference/models');
  const models = (served.models || []).map((m) => m.model);
  const conversation = [];
  const transcript = h('div', { 'aria-live': 'polite' });
  const form = h('form', { id: 'chat-form' },
    h('div', { class: 'row' },
      h('label', { for: 'chat-model' }, 'Model'), h('select', { id: 'chat-model' }, models.map((m) => h('option', { value: m }, m))),
      h('label', { for: 'chat-max' }, 'Max tokens'), h('input', { id: 'chat-max', type: 'number', min: 1, max: 1024, value: 64 }),
      h('label', { for: 'chat-temperature' }, 'Temperature'), h('input', { id: 'chat-temperature', type: 'number', min: 0, max: 2, step: 0.1, value: 0.8 })),
    h('label', { for: 'chat-input' }, 'Message'), h('textarea', { id: 'chat-input', required: true }),
    h('div', { class: 'row' }, h('button', { type: 'submit', id: 'chat-send' }, 'Send'), h('button', { type: 'button', class: 'quiet', onclick: () => { conversation.length = 0; transcript.replaceChildren(); } }, 'New chat')));
  view.replaceChildren(card('Playground', models.length === 0 ? h('p', { class: 'muted' }, 'No model is served yet.') : null, transcript, form));

  const settings = () => ({ model: form.querySelector('#chat-model').value || undefined, maxTokens: Number(form.querySelector('#chat-max').value), temperature: Number(form.querySelector('#chat-temperature').value) });

  /** Streams one answer to messages into an element; resolves with {id, text}. */
  const stream = async (messages, into) => {
    const response = await api('/api/inference/chat', { method: 'POST', json: { messages, ...settings(), stream: true }, raw: true });
    let id = response.headers.get('X-Forge-Generation-Id'), text = '';
    for await (const { event, data } of serverSentEvents(response)) {
      const body = JSON.parse(data);
      if (event === 'token') { text += body.text; into.textContent = text; }
      else if (event === 'done') { id = body.id ?? id; text = body.output ?? text; into.textContent = text; }
    }
    return { id, text };
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = form.querySelector('#chat-input');
    const content = input.value.trim();
    if (!content) return;
    input.value = '';
    conversation.push({ role: 'user', content });
    transcript.append(h('div', { class: 'user-turn' }, content));
    const text = h('div', { class: 'answer-text' });
    const answer = h('article', { class: 'answer', 'aria-busy': 'true' }, h('div', { class: 'who' }, 'assistant'), text);
    transcript.append(answer);
    const send = form.querySelector('#chat-send');
    send.disabled = true;
    try {
      const asked = [...conversation];
      const result = await stream(asked, text);
      conversation.push({ role: 'assistant', content: result.text });
      answer.dataset.generationId = result.id;
      answer.append(feedbackTools(result.id, asked, stream));
    } catch (error) { answer.append(problem(error)); }
    finally { answer.setAttribute('aria-busy', 'false'); send.disabled = false; }
  });
};

/** Thumbs, rating, correction and "which is better" for one generation. */
function feedbackTools(generationId, messages, stream) {
  const status = h('span', { class: 'done', role: 'status' });
  const post = async (body) => {
    try {
      await api(`/api/feedback/generations/${encodeURIComponent(generationId)}`, { method: 'POST', json: { ...body, user: 'dashboard' } });
      status.textContent = `Thanks: ${body.kind} saved.`;
      return true;
    } catch (error) { status.textContent = ''; status.after(problem(error)); return false; }
  };
  const up = h('button', { type: 'button', class: 'quiet', 'aria-label': 'Thumbs up', 'aria-pressed': 'false' }, '👍');
  const down = h('button', { type: 'button', class: 'quiet', 'aria-label': 'Thumbs down', 'aria-pressed': 'false' }, '👎');
  const thumbs = (isUp) => async () => {
    if (await post({ kind: 'thumbs', up: isUp })) { up.setAttribute('aria-pressed', String(isUp)); down.setAttribute('aria-pressed', String(!isUp)); }
  };
  up.addEventListener('click', thumbs(true));
  down.addEventListener('click', thumbs(false));
  const rating = h('select', { 'aria-label': 'Rating', class: 'rating' }, [1, 2, 3, 4, 5].map((n) => h('option', { value: n, selected: n === 4 }, `${n} ★`)));
  const correction = h('input', { type: 'text', 'aria-label': 'Correction', placeholder: 'A better answer…', class: 'correction' });
  const compare = h('div', { class: 'grid2 compare' });
  const tools = h('div', { class: 'feedback-tools' }, up, down,
    rating, h('button', { type: 'button', class: 'quiet rate', onclick: () => post({ kind: 'rating', rating: Number(rating.value) }) }, 'Rate'),
    correction, h('button', { type: 'button', class: 'quiet', onclick: () => correction.value.trim() && post({ kind: 'correction', correction: correction.value.trim() }) }, 'Correct'),
    h('button', { type: 'button', class: 'quiet', onclick: async (e) => {
      e.target.disabled = true;
      const first = e.target.closest('.answer').querySelector('.answer-text').textContent;
      const other = h('div', { class: 'answer-text' });
      const choose = (preferred) => () => post({ kind: 'preference', otherGenerationId: otherId, preferred });
      let otherId = null;
      compare.replaceChildren(
        h('div', { class: 'answer' }, h('div', { class: 'who' }, 'A'), h('div', { class: 'answer-text' }, first), h('button', { type: 'button', onclick: choose('this') }, 'A is better')),
        h('div', { class: 'answer' }, h('div', { class: 'who' }, 'B'), other, h('button', { type: 'button', onclick: choose('other') }, 'B is better')));
      try { otherId = (await stream(messages, other)).id; } catch (error) { compare.append(problem(error)); }
    } }, 'Which is better?'),
    status);
  return h('div', {}, tools, compare);
}

pages.feedback = async (view, model) => {
  const served = await api('/api/inference/models');
  const models = (served.models || []).map((m) => m.model);
  model ??= models[0];
  const picker = h('select', { id: 'feedback-model', 'aria-label': 'Model', onchange: (e) => { location.hash = `#/feedback/${encodeURIComponent(e.target.value)}`; } },
    models.map((m) => h('option', { value: m, selected: m === model }, m)));
  const body = h('div');
  const load = async () => {
    if (!model) { body.replaceChildren(h('p', { class: 'muted' }, 'No model is served yet.')); return; }
    const [summary, items] = await Promise.all([
      api(`/api/feedback/models/${encodeURIComponent(model)}/summary`),
      api(`/api/feedback/items?model=${encodeURIComponent(model)}&limit=20`).catch(() => []),
    ]);
    body.replaceChildren(
      h('div', { class: 'stats' }, stat('feedback', h('span', { id: 'feedback-total' }, number(summary.feedback)))),
      table(summary.versions.map((v) => ({ ...v, id: v.modelVersionId })), [['Version', (v) => v.modelVersionId], ['Feedback', (v) => number(v.feedback)],
        ['👍', (v) => number(v.thumbsUp)], ['👎', (v) => number(v.thumbsDown)], ['Thumbs up', (v) => v.thumbsUpRatio == null ? '' : `${number(100 * v.thumbsUpRatio)}%`],
        ['Ratings', (v) => number(v.ratings)], ['Mean rating', (v) => number(v.meanRating, 2)], ['Corrections', (v) => number(v.corrections)],
        ['Preferences', (v) => number(v.preferences)], ['Wins', (v) => number(v.preferenceWins)], ['Losses', (v) => number(v.preferenceLosses)]], { label: 'Feedback by version' }),
      h('h3', {}, 'Trend'),
      table(summary.versions.flatMap((v) => v.trend.map((d) => ({ ...d, version: v.modelVersionId })))
        , [['Day', (d) => d.day], ['Version', (d) => d.version], ['Feedback', (d) => number(d.feedback)], ['Mean rating', (d) => number(d.meanRating, 2)], ['Thumbs up', (d) => d.thumbsUpRatio == null ? '' : `${number(100 * d.thumbsUpRatio)}%`]], { label: 'Trend' }),
      h('h3', {}, 'Recent'),
      table(items, [['When', (f) => when(f.createdAt ?? f.receivedAt)], ['Kind', (f) => f.kind], ['Generation', (f) => f.generationId],
        ['Value', (f) => f.rating ?? (f.up === undefined ? null : f.up ? '👍' : '👎') ?? f.correction ?? f.preferred ?? ''], ['User', (f) => f.user]], { label: 'Recent feedback' }));
  };
  view.replaceChildren(card('Feedback', h('div', { class: 'row' }, h('label', { for: 'feedback-model' }, 'Model'), picker), body));
  await load();
  live.on('FeedbackReceived', throttle(load));
};

// ---- Router ---------------------------------------------------------------------------------------------------------

async function route() {
  const [, page = 'runs', argument] = location.hash.split('/');
  const name = pages[page] ? page : 'runs';
  for (const link of document.querySelectorAll('nav a')) link.toggleAttribute('aria-current', link.getAttribute('href') === `#/${name}`);
  for (const link of document.querySelectorAll('nav a[aria-current]')) link.setAttribute('aria-current', 'page');
  live.clear();
  const view = h('div', { 'data-page': name });
  main.replaceChildren(view);
  if (!apiKey()) { askForKey(); return; }
  view.append(h('p', { class: 'muted' }, 'Loading…'));
  try {
    await pages[name](view, argument === undefined ? undefined : decodeURIComponent(argument));
    view.setAttribute('data-ready', 'true');
  } catch (error) { view.replaceChildren(problem(error)); }
}

window.addEventListener('hashchange', route);
route();
live.connect(0);
