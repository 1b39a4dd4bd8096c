// Chart kinds for the dashboard, drawn with uPlot (served from the installed package).
// Each kind is a function (element, data) registered on window.EventixCharts; app.js calls it for
// every element with data-chart="kind" and data-source="<id of a JSON script>".
(() => {
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const width = (el) => Math.max(280, el.clientWidth || el.parentElement.clientWidth || 600);

  window.EventixCharts = window.EventixCharts || {};
  const kinds = window.EventixCharts;

  // Completed and failed tasks per minute (src/ui/pages/overview.tsx).
  // data: { minutes: [epoch s], done: [n], failed: [n] }. Failures get their own axis on the
  // right: a few failures a minute beside thousands of completions would be a flat line at zero.
  kinds.throughput = (el, data) => {
    const height = 220;
    const hhmm = (v) => `${new Date(v * 1000).toISOString().slice(11, 16)} UTC`;
    const opts = {
      width: width(el),
      height,
      scales: {
        x: { time: true },
        done: { range: (_u, _min, max) => [0, Math.max(1, max)] },
        failed: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        // 24-hour UTC times: the page's times are all UTC, and uPlot's default is the browser's 12-hour clock.
        {
          stroke: css('--muted'),
          label: 'minute (UTC)',
          labelSize: 18,
          values: (_u, ticks) => ticks.map((v) => new Date(v * 1000).toISOString().slice(11, 16)),
        },
        { scale: 'done', stroke: css('--chart-done'), label: 'completed / min', size: 56 },
        { scale: 'failed', side: 1, stroke: css('--chart-failed'), label: 'failed / min', size: 50, grid: { show: false } },
      ],
      series: [
        { label: 'minute', value: (_u, v) => (v == null ? '—' : hhmm(v)) },
        {
          label: 'completed / min',
          scale: 'done',
          stroke: css('--chart-done'),
          width: 2,
          fill: `${css('--chart-done')}22`,
          points: { show: false },
        },
        { label: 'failed / min', scale: 'failed', stroke: css('--chart-failed'), width: 2, points: { show: false } },
      ],
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    };
    const u = new uPlot(opts, [data.minutes, data.done, data.failed], el);
    // The live refresh replaces the element every few seconds: let go of the old chart then.
    const ro = new ResizeObserver(() => {
      if (!el.isConnected) {
        ro.disconnect();
        u.destroy();
        return;
      }
      u.setSize({ width: width(el), height });
    });
    ro.observe(el);
  };
})();

// == trend (src/ui/pages/benchmarks*.tsx) ==
// One benchmark series over commits (x = position in commit order). data (src/ui/queries/benchmarks.ts
// TrendChart): { metric, unit, order, shas, subjects, at, hrefs, medians, samples: [[…]],
// changes: [{index, previousIndex, sha, relative, kind}], alerts: [{index, id, sha, status}] }.
// Samples are dots drawn in a hook (any number per commit), the median a uPlot line; change points
// and alerts are DOM markers over the plot (tests and assistive tools can find them), hovering
// shows a tip, clicking opens the commit.
(() => {
  const kinds = window.EventixCharts;
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const fmt = (v, unit) => {
    if (v == null || !Number.isFinite(v)) return '—';
    const a = Math.abs(v);
    const text = v.toLocaleString('en-US', { maximumFractionDigits: a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 4 });
    return unit ? `${text} ${unit}` : text;
  };
  const pct = (f) => (f == null ? '' : `${f > 0 ? '+' : f < 0 ? '−' : ''}${Math.abs(f * 100).toFixed(1)} %`);
  const utc = (iso) => (iso ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : 'commit time unknown');

  function yRange(samples) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const list of samples) {
      for (const v of list) {
        if (!Number.isFinite(v)) continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (!Number.isFinite(lo)) return [0, 1];
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.02 || 1;
    return [lo - pad, hi + pad];
  }

  kinds.trend = (el, data) => {
    const n = data.shas.length;
    const xs = data.shas.map((_, i) => i);
    const changeAt = new Map(data.changes.map((c) => [c.index, c]));
    const height = () => (el.clientWidth < 500 ? 200 : 260);
    const width = () => Math.max(260, el.clientWidth || 600);
    const [lo, hi] = yRange(data.samples);
    const tip = document.createElement('div');
    tip.className = 'tip';
    tip.dataset.testid = 'chart-tip';
    tip.hidden = true;
    el.appendChild(tip);

    function dots(u) {
      const ctx = u.ctx;
      const r = 2.2 * devicePixelRatio;
      ctx.save();
      ctx.beginPath();
      ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
      ctx.clip();
      ctx.fillStyle = css('--chart-sample') || '#8892a0';
      for (let i = 0; i < n; i++) {
        const x = u.valToPos(i, 'x', true);
        for (const v of data.samples[i]) {
          ctx.beginPath();
          ctx.arc(x, u.valToPos(v, 'y', true), r, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
      ctx.restore();
    }

    function marker(u, cls, testid, at, sha, label) {
      const m = document.createElement('div');
      m.className = `marker ${cls}`;
      m.dataset.testid = testid;
      m.dataset.sha = sha;
      m.title = label;
      m.style.left = `${at}px`;
      m.style.height = '100%';
      u.over.appendChild(m);
    }

    function markers(u) {
      for (const old of u.over.querySelectorAll('.marker')) old.remove();
      for (const c of data.changes) {
        // Between the last commit of the old level and the first of the new one.
        const at = (u.valToPos(c.previousIndex, 'x') + u.valToPos(c.index, 'x')) / 2;
        marker(
          u,
          c.kind === 'regression' ? 'regression' : 'cp',
          'change-point',
          at,
          c.sha,
          `${c.kind} ${pct(c.relative)} at ${c.sha.slice(0, 10)}`,
        );
      }
      for (const a of data.alerts) marker(u, 'alert', 'alert-marker', u.valToPos(a.index, 'x'), a.sha, `alert #${a.id} (${a.status})`);
    }

    function showTip(u) {
      const i = u.cursor.idx;
      if (i == null || i < 0 || i >= n || u.cursor.left < 0) {
        tip.hidden = true;
        return;
      }
      const cp = changeAt.get(i);
      const values = data.samples[i];
      const lines = [
        [data.shas[i].slice(0, 10), 'mono'],
        [data.subjects[i] || '', ''],
        [utc(data.at[i]), 'muted'],
        [`median ${fmt(data.medians[i], data.unit)} · ${values.length} samples`, ''],
        [
          values
            .slice(0, 8)
            .map((v) => fmt(v, null))
            .join(', ') + (values.length > 8 ? ', …' : ''),
          'muted',
        ],
        [cp ? `change point: ${cp.kind} ${pct(cp.relative)}` : '', 'flag'],
      ];
      tip.replaceChildren(
        ...lines
          .filter(([text]) => text)
          .map(([text, cls]) => {
            const d = document.createElement('div');
            d.textContent = text;
            if (cls) d.className = cls;
            return d;
          }),
      );
      tip.dataset.sha = data.shas[i];
      tip.hidden = false;
      const left = u.over.offsetLeft + u.valToPos(i, 'x');
      const top = u.over.offsetTop + Math.max(0, u.valToPos(data.medians[i] ?? lo, 'y') - 20);
      const w = tip.offsetWidth;
      tip.style.left = `${left + 14 + w > el.clientWidth ? Math.max(0, left - 14 - w) : left + 14}px`;
      tip.style.top = `${top}px`;
    }

    const opts = {
      width: width(),
      height: height(),
      legend: { show: false },
      cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 8 } },
      scales: { x: { time: false, range: () => [-0.5, Math.max(0.5, n - 0.5)] }, y: { range: () => [lo, hi] } },
      axes: [
        {
          stroke: css('--muted'),
          label: data.order === 'git-first-parent' ? 'commit (git order, oldest → newest)' : 'commit (commit time order, oldest → newest)',
          incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
          space: 70,
          values: (_u, splits) => splits.map((v) => (Number.isInteger(v) && data.shas[v] ? data.shas[v].slice(0, 7) : '')),
          grid: { stroke: `${css('--line')}` },
        },
        {
          stroke: css('--muted'),
          label: data.unit ? `${data.metric} (${data.unit})` : data.metric,
          size: el.clientWidth < 500 ? 54 : 70,
          grid: { stroke: css('--line') },
        },
      ],
      series: [{}, { label: 'median', stroke: css('--chart-line'), width: 2, points: { show: n <= 120, size: 5 } }],
      hooks: { draw: [dots, markers], setCursor: [showTip] },
    };
    const u = new uPlot(opts, [xs, data.medians], el);
    u.over.addEventListener('click', () => {
      const i = u.cursor.idx;
      if (i != null && data.hrefs[i]) location.assign(data.hrefs[i]);
    });
    u.over.addEventListener('mouseleave', () => {
      tip.hidden = true;
    });
    u.over.style.cursor = 'pointer';
    new ResizeObserver(() => {
      if (Math.abs(u.width - width()) > 2) u.setSize({ width: width(), height: height() });
    }).observe(el);
  };
})();
