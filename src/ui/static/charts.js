// Chart kinds for the dashboard, drawn with uPlot (served from the installed package).
// Each kind is a function (element, data) registered on window.EventixCharts; app.js calls it for
// every element with data-chart="kind" and data-source="<id of a JSON script>".
(() => {
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const width = (el) => Math.max(280, el.clientWidth || el.parentElement.clientWidth || 600);

  window.EventixCharts = window.EventixCharts || {};
  const kinds = window.EventixCharts;

  // Completed and failed tasks per minute. data: { minutes: [epoch s], done: [n], failed: [n] }
  kinds.throughput = (el, data) => {
    const opts = {
      width: width(el),
      height: 200,
      scales: { x: { time: true } },
      axes: [{ stroke: css('--muted') }, { stroke: css('--muted'), label: 'tasks / min' }],
      series: [
        { label: 'minute (UTC)', value: (_u, v) => (v == null ? '—' : `${new Date(v * 1000).toISOString().slice(11, 16)} UTC`) },
        { label: 'completed / min', stroke: css('--chart-done'), width: 2, fill: `${css('--chart-done')}22` },
        { label: 'failed / min', stroke: css('--chart-failed'), width: 2 },
      ],
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    };
    const u = new uPlot(opts, [data.minutes, data.done, data.failed], el);
    new ResizeObserver(() => u.setSize({ width: width(el), height: 200 })).observe(el);
  };
})();

// == trend (src/ui/pages/benchmarks*.tsx) ==
