"""The page's own script (inlined once, after plotly.js): draws every sweep explorer
(:mod:`accelsim.report.explorer`) from its JSON and redraws it when a control changes.

Rules it keeps: no network, no ``eval``, user strings reach plotly only as the escaped label text
the Python side wrote, and never reach ``innerHTML``.
"""

SCRIPT = r"""
(function () {
  'use strict';
  function fmt(v) {
    if (v === null || !isFinite(v)) return 'n/a';
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e6 || a < 1e-3)) {
      const e = Math.floor(Math.log10(a)), m = v / Math.pow(10, e);
      return m.toPrecision(3) + '\u00d710^' + e;
    }
    return Number(v.toPrecision(4)).toLocaleString('en-US', {maximumSignificantDigits: 4});
  }
  function logTicks(lo, hi) {
    const vals = [], text = [];
    for (let e = Math.floor(lo) - 1; e <= Math.ceil(hi) + 1; e++) {
      for (const m of [1, 2, 5]) {
        const t = e + Math.log10(m);
        if (t >= lo - 1e-9 && t <= hi + 1e-9) { vals.push(t); text.push(fmt(m * Math.pow(10, e))); }
      }
    }
    if (vals.length < 2) { vals.unshift(lo); text.unshift(fmt(Math.pow(10, lo))); vals.push(hi); text.push(fmt(Math.pow(10, hi))); }
    return [vals, text];
  }
  // a point's configuration and accelsim run command, from its axis values (escaped label text)
  function value(data, key, i) { const a = data.axes.find(a => a.key === key); return a.values[a.index[i]]; }
  function config(data, i) {
    const array = value(data, 'array', i), pes = array.split('x').reduce((p, n) => p * Number(n), 1);
    const bw = value(data, 'dram_bw', i);
    return value(data, 'workload', i) + ' on ' + value(data, 'hw', i) + ' ' + array + ' (' + pes.toLocaleString('en-US') +
           ' PEs), dataflow ' + value(data, 'dataflow', i) + ', SRAM ' + value(data, 'sram', i) + ' KiB, DRAM ' +
           (bw === 'unlimited' ? bw : bw + ' B/cycle') + ', ' + value(data, 'timing', i) + ' timing, energy ' +
           value(data, 'energy_table', i);
  }
  function command(data, i) {
    const parts = ['accelsim run'];
    for (const [key, flag] of data.flags) {
      const a = data.axes.find(a => a.key === key), arg = a.args[a.index[i]];
      if (arg) parts.push(flag + ' ' + arg);
    }
    if (data.tail) parts.push(data.tail);
    return parts.join(' ');
  }
  function draw(root) {
    const id = root.getAttribute('data-explorer');
    const div = document.getElementById(id);
    const data = div.__data || (div.__data = JSON.parse(document.getElementById(id + '-data').textContent));
    const get = role => root.querySelector('[data-role="' + role + '"]');
    const xKey = get('x').value;
    let yKey = get('y').value;
    if (xKey === yKey) { yKey = data.axes.find(a => a.key !== xKey).key; get('y').value = yKey; }
    const metric = data.metrics.find(m => m.key === get('metric').value);
    const log = get('scale').querySelector('.on').getAttribute('data-scale') === 'log';
    const X = data.axes.find(a => a.key === xKey), Y = data.axes.find(a => a.key === yKey);
    const fixed = [], bestOver = [], fixedText = [];
    for (const a of data.axes) {
      const s = get('fix-' + a.key);
      const shown = a.key === xKey || a.key === yKey;
      s.disabled = shown;
      if (shown) continue;
      if (s.value === 'best') { if (a.values.length > 1) bestOver.push(a.label); }
      else { fixed.push([a, +s.value]); if (a.values.length > 1) fixedText.push(a.label + ' = ' + a.values[+s.value]); }
    }
    const cols = X.values.length, best = new Map();
    for (let i = 0; i < data.point.length; i++) {
      const v = metric.values[i];
      if (v === null) continue;
      if (fixed.some(([a, f]) => a.index[i] !== f)) continue;
      const key = Y.index[i] * cols + X.index[i], cur = best.get(key);
      if (cur === undefined || (metric.best === 'min' ? v < metric.values[cur] : v > metric.values[cur])) best.set(key, i);
    }
    const rowsUsed = Y.values.map((_, r) => X.values.some((_, c) => best.has(r * cols + c)));
    const colsUsed = X.values.map((_, c) => Y.values.some((_, r) => best.has(r * cols + c)));
    const rIdx = Y.values.map((_, r) => r).filter(r => rowsUsed[r]);
    const cIdx = X.values.map((_, c) => c).filter(c => colsUsed[c]);
    const z = [], text = [], custom = [];
    let lo = Infinity, hi = -Infinity;
    for (const r of rIdx) {
      const zr = [], tr = [], cr = [];
      for (const c of cIdx) {
        const i = best.get(r * cols + c);
        if (i === undefined) { zr.push(null); tr.push(''); cr.push(['', '', '', '']); continue; }
        const v = metric.values[i];
        const shown = log ? (v > 0 ? Math.log10(v) : null) : v;
        if (shown !== null) { lo = Math.min(lo, shown); hi = Math.max(hi, shown); }
        zr.push(shown); tr.push(fmt(v));
        cr.push([config(data, i), command(data, i), String(data.point[i]), fmt(v)]);
      }
      z.push(zr); text.push(tr); custom.push(cr);
    }
    const colorbar = {title: {text: metric.label}, exponentformat: 'power'};
    if (log && isFinite(lo)) { const [tv, tt] = logTicks(lo, hi); colorbar.tickvals = tv; colorbar.ticktext = tt; }
    const trace = {type: 'heatmap', z: z, x: cIdx.map(c => X.values[c]), y: rIdx.map(r => Y.values[r]),
                   text: text, texttemplate: '%{text}', customdata: custom, colorscale: metric.best === 'max' ? 'Blues' : 'Viridis',
                   reversescale: false, colorbar: colorbar, xgap: 1, ygap: 1,
                   hovertemplate: '%{customdata[0]}<br><b>' + metric.label + ': %{customdata[3]}</b>' +
                                  '<br>sweep point %{customdata[2]}<br>reproduce: %{customdata[1]}<extra></extra>'};
    let title = metric.label + (log ? ', log colour' : '') + ': ' + Y.label + ' x ' + X.label;
    const notes = [];
    if (fixedText.length) notes.push('fixed ' + fixedText.join(', '));
    if (bestOver.length) notes.push((metric.best === 'min' ? 'lowest' : 'highest') + ' over ' + bestOver.join(', '));
    if (notes.length) title += '<br><sup>' + notes.join('; ') + '</sup>';
    const layout = {title: {text: title}, xaxis: {title: {text: X.label}, type: 'category'},
                    yaxis: {title: {text: Y.label}, type: 'category'}, margin: {t: 90}};
    Plotly.react(div, [trace], layout, {displaylogo: false, responsive: true});
  }
  function init() {
    for (const root of document.querySelectorAll('div.controls[data-explorer]')) {
      for (const s of root.querySelectorAll('select:not([data-role="metric"])')) s.addEventListener('change', () => draw(root));
      for (const b of root.querySelectorAll('[data-role="scale"] button')) {
        b.addEventListener('click', () => {
          for (const o of b.parentNode.querySelectorAll('button')) o.classList.toggle('on', o === b);
          draw(root);
        });
      }
      for (const s of root.querySelectorAll('select[data-role="metric"]')) {
        s.addEventListener('change', () => {
          const div = document.getElementById(root.getAttribute('data-explorer'));
          const m = div.__data.metrics.find(m => m.key === s.value);
          for (const o of root.querySelectorAll('[data-role="scale"] button'))
            o.classList.toggle('on', o.getAttribute('data-scale') === (m.log ? 'log' : 'linear'));
          draw(root);
        });
      }
      draw(root);
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init); else init();
})();
"""
