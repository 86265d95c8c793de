// Chart.js (MIT, installed from npm: package.json), only the parts the portal draws with: bars
// and lines on a category × linear grid, with tooltips and a legend. This module is loaded with
// import() by chart-view.js when a chart is about to be seen, so the build makes it (and
// Chart.js) a chunk of its own that only pages with a chart download. Unbundled (the gateway
// serving the sources while someone edits them) the bare 'chart.js' cannot be resolved: the
// import fails and chart-view.js shows the numbers as a table instead.
import {
  Chart, BarController, LineController, CategoryScale, LinearScale, BarElement, LineElement,
  PointElement, Tooltip, Legend,
} from 'chart.js';

Chart.register(BarController, LineController, CategoryScale, LinearScale, BarElement, LineElement,
  PointElement, Tooltip, Legend);

/** The value of a CSS custom property on the document (branding sets some of them). */
function cssVar(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** Series colours: --chart-1 … --chart-8 (styles.css), which follow the brand and the theme. */
export function palette() {
  const fallbacks = ['#1d4ed8', '#0e7490', '#7c3aed', '#b45309', '#4f5b6b', '#146c2e', '#be185d', '#1b2430'];
  return fallbacks.map((fallback, i) => cssVar(`--chart-${i + 1}`, fallback));
}

/**
 * Draw on `canvas`: `type` 'bar' or 'line'; `labels` (the x axis); `series`
 * [{label, values, colour? (an index in the palette), stack?}]; `stacked`; `legend`; `format(value)` the numbers as the
 * page writes them (money, percent) for the axis and the tooltips. Returns the Chart (destroy()
 * it before drawing again on the same canvas).
 */
export function draw(canvas, { type = 'bar', labels, series, stacked = false, legend = true, format = String, compact = false }) {
  const colours = palette();
  const text = cssVar('--muted', '#4f5b6b');
  const grid = cssVar('--border', '#c9d1dc');
  const reduced = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  // counts and minor units are whole numbers: no tick between 0 and 1 ("0, 0, 1, 1")
  const whole = series.every((s) => s.values.every((v) => v == null || Number.isInteger(v)));
  return new Chart(canvas, {
    type,
    data: {
      labels,
      datasets: series.map((s, i) => {
        const colour = colours[(s.colour ?? i) % colours.length];
        return {
          label: s.label,
          data: s.values,
          backgroundColor: colour,
          borderColor: colour,
          borderWidth: type === 'line' ? 2 : 0,
          pointRadius: type === 'line' ? 2 : 0,
          stack: stacked ? s.stack || 'all' : undefined,
          tension: 0.2,
        };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: reduced ? false : { duration: 300 },
      // the canvas is one picture for screen readers (role=img and its summary); the numbers
      // are in the table beside it
      plugins: {
        legend: { display: legend, position: 'bottom', labels: { color: text, boxWidth: 12 } },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${format(item.raw)}` } },
      },
      scales: {
        x: { stacked, ticks: { color: text, maxRotation: 0, autoSkip: true }, grid: { display: false } },
        y: {
          stacked,
          beginAtZero: true,
          ticks: { color: text, maxTicksLimit: compact ? 4 : 6, precision: whole ? 0 : undefined, callback: (value) => format(value) },
          grid: { color: grid },
        },
      },
    },
  });
}
