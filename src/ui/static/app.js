// Eventix dashboard: the little JavaScript the server-rendered pages need. No framework, no build.
// 1. Live regions: <main data-live="5000"> re-fetches its own URL and swaps the main element,
//    unless the operator is in the middle of something (a focused field, a ticked checkbox).
// 2. Forms with data-confirm ask before submitting.
// 3. A checkbox with data-select-all ticks every checkbox named by its value.
// 4. Charts: elements with data-chart="kind" are drawn by window.EventixCharts[kind] (charts.js).
(() => {
  function drawCharts(root) {
    const kinds = window.EventixCharts || {};
    for (const el of root.querySelectorAll('[data-chart]')) {
      const draw = kinds[el.dataset.chart];
      const source = el.dataset.source && document.getElementById(el.dataset.source);
      if (!draw || !source || el.dataset.drawn) continue;
      el.dataset.drawn = '1';
      try {
        draw(el, JSON.parse(source.textContent || 'null'));
      } catch (err) {
        el.textContent = `This chart could not be drawn: ${err?.message}`;
      }
    }
  }

  function busy(main) {
    const active = document.activeElement;
    if (active && active !== document.body && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return true;
    return main.querySelector('input[type=checkbox]:checked:not([data-live-ignore])') !== null;
  }

  function startLive() {
    const main = document.querySelector('main[data-live]');
    if (!main) return;
    const every = Math.max(1000, Number(main.dataset.live) || 5000);
    const status = document.createElement('p');
    status.className = 'live-status';
    status.setAttribute('aria-live', 'off');
    const place = (root) => {
      const title = root.querySelector('h1');
      if (title) title.after(status);
      else root.prepend(status);
    };
    place(main);
    let failures = 0;
    async function tick() {
      if (document.visibilityState === 'visible' && !busy(document.querySelector('main'))) {
        try {
          const res = await fetch(location.href, { headers: { 'x-eventix-live': '1' }, credentials: 'same-origin' });
          if (res.redirected || !res.ok) throw new Error(`HTTP ${res.status}`);
          const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
          const fresh = doc.querySelector('main');
          const current = document.querySelector('main');
          // Checked again: a box ticked while the request was out must not be swapped away.
          if (fresh && current && !busy(current)) {
            place(fresh);
            current.replaceWith(fresh);
            drawCharts(fresh);
          }
          failures = 0;
          status.textContent = `Live · updated ${new Date().toISOString().slice(11, 19)} UTC`;
        } catch (err) {
          failures++;
          status.textContent = `Live updates paused: ${err?.message}. Retrying.`;
        }
      }
      setTimeout(tick, every * Math.min(8, 2 ** failures));
    }
    status.textContent = 'Live';
    setTimeout(tick, every);
  }

  document.addEventListener('submit', (e) => {
    const form = e.target;
    const question = form instanceof HTMLFormElement && form.dataset.confirm;
    if (question && !window.confirm(question)) e.preventDefault();
  });

  document.addEventListener('change', (e) => {
    const box = e.target;
    if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
    for (const other of document.querySelectorAll(`input[type=checkbox][name="${box.dataset.selectAll}"]`)) other.checked = box.checked;
  });

  window.addEventListener('DOMContentLoaded', () => {
    drawCharts(document);
    startLive();
  });
})();
