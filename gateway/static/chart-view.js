// A chart as pages show it: a <figure> with a canvas that is one picture for screen readers
// (role="img" and a summary as its name) and the same numbers as a real table in a "Show as
// table" disclosure. Chart.js (charts.js, a chunk of its own in the build) is loaded only when
// the figure comes near the screen, so a page whose chart is further down (the dashboard on a
// phone) does not pay for it on its first load. When Chart.js cannot be loaded (offline, or the
// sources served unbundled) the table is opened instead and the canvas goes.
import { t } from './i18n.js';
import { h } from './dom.js';

let charts = null; // the import of charts.js, once asked for

function loadCharts() {
  if (!charts) {
    charts = import('./charts.js').catch((err) => {
      charts = null; // ask again next time (back online)
      throw err;
    });
  }
  return charts;
}

/** Starts `work` when `el` is near the viewport (at once without IntersectionObserver). */
function whenNear(el, work) {
  if (typeof IntersectionObserver !== 'function') {
    requestAnimationFrame(work);
    return;
  }
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) {
      observer.disconnect();
      work();
    }
  }, { rootMargin: '100px' });
  observer.observe(el);
}

/**
 * The table of a chart's numbers: `columns` [{label, numeric}], `rows` [{head, cells: [text],
 * kind?}], optional `foot` {head, cells}.
 */
export function numbersTable({ caption, columns, rows, foot, testid }) {
  return h('table', { class: 'table chart-numbers', 'data-testid': testid },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((col, i) => h('th', { scope: 'col', class: i && col.numeric !== false ? 'amount' : null }, col.label)))),
    h('tbody', {}, rows.map((row) => h('tr', { 'data-kind': row.kind || null },
      h('th', { scope: 'row' }, row.head),
      row.cells.map((cell) => h('td', { class: 'amount' }, cell))))),
    foot ? h('tfoot', {}, h('tr', { class: 'total' },
      h('th', { scope: 'row' }, foot.head),
      foot.cells.map((cell) => h('td', { class: 'amount' }, cell)))) : null);
}

/**
 * A chart figure. `summary`: the canvas's accessible name (what the chart says, in a sentence);
 * `chart`: what charts.js's draw() takes (type, labels, series, stacked, legend, format);
 * `table`: numbersTable()'s arguments; `size`: 'small' or 'large'; `caption` a visible
 * figcaption (optional); `testid` on the figure.
 */
export function chartFigure({ summary, chart, table, size = 'large', caption, testid, id }) {
  const canvas = h('canvas', { role: 'img', 'aria-label': summary, 'data-testid': 'chart-canvas' });
  const box = h('div', { class: `chart-box ${size}` }, canvas);
  const tableId = id ? `${id}-table` : null;
  const details = h('details', { class: 'chart-table', 'data-testid': 'chart-table' },
    h('summary', {}, t('charts.showTable')),
    h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': summary, id: tableId }, numbersTable(table)));
  const figure = h('figure', { class: 'chart', 'data-testid': testid, 'data-chart': 'pending' },
    caption ? h('figcaption', { class: 'chart-caption' }, caption) : null,
    box,
    details);
  whenNear(figure, async () => {
    try {
      const module = await loadCharts();
      if (!figure.isConnected) return;
      module.draw(canvas, chart);
      figure.dataset.chart = 'drawn';
    } catch {
      // no chart library (offline, or the sources unbundled): the numbers, in the open
      box.remove();
      details.open = true;
      figure.dataset.chart = 'table';
    }
  });
  return figure;
}
