/// The Server counters panel: `/metrics` once a second, parsed (the Prometheus text format is a
/// line per sample) and reduced to the numbers a newcomer wants, with rates from the previous poll.
let pageScriptCounters: StaticString = #"""
// ---- counters -----------------------------------------------------------------------------
function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[2] || '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return {
    samples,
    sum(name) { return samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0); },
    each(name) { return samples.filter((s) => s.name === name); },
  };
}

// The smallest bucket bound under which a fraction `q` of the iterations fall.
function histogramQuantile(metrics, name, q) {
  const count = metrics.sum(name + '_count');
  if (!count) return NaN;
  for (const b of metrics.each(name + '_bucket')) {
    if (b.value >= q * count) return b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
  }
  return Infinity;
}

const Counters = {
  previous: null,

  async tick() {
    const status = $('counters-status');
    try {
      const response = await fetch('/metrics', { cache: 'no-store' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.show(parseMetrics(await response.text()), performance.now());
      setStatus(status, 'connected', 'live');
    } catch (error) {
      setStatus(status, 'offline', 'unreachable', error.message);
      this.previous = null;
    }
    setTimeout(() => this.tick(), 1000);
  },

  show(m, now) {
    const bytesIn = m.sum('reactor_received_bytes_total');
    const bytesOut = m.sum('reactor_sent_bytes_total');
    const rate = (value, key) => {
      if (!this.previous) return '';
      const perSecond = (value - this.previous[key]) / ((now - this.previous.at) / 1000);
      return perSecond > 0 ? ` <small>${formatBytes(perSecond)}/s</small>` : '';
    };
    const set = (id, text) => { $(id).textContent = text; };
    set('m-connections', formatCount(m.sum('reactor_connections')));
    set('m-messages-in', formatCount(m.sum('reactor_messages_received_total')));
    set('m-messages-out', formatCount(m.sum('reactor_messages_sent_total')));
    $('m-bytes-in').innerHTML = formatBytes(bytesIn) + rate(bytesIn, 'bytesIn');
    $('m-bytes-out').innerHTML = formatBytes(bytesOut) + rate(bytesOut, 'bytesOut');
    set('m-broadcasts', formatCount(m.sum('reactor_broadcasts_total')));
    set('m-deliveries', formatCount(m.sum('reactor_broadcast_deliveries_total')));
    set('m-pending', formatBytes(m.sum('reactor_pending_write_bytes')));
    set('m-timers', formatCount(m.sum('reactor_timers_armed')));
    const p99 = histogramQuantile(m, 'reactor_loop_iteration_seconds', 0.99);
    set('m-iteration', Number.isFinite(p99) ? '≤ ' + formatSeconds(p99) : '–');
    const names = { websocket_echo: 'WS echo', websocket_chat: 'WS chat', sse: 'SSE', long_poll: 'long poll', http: 'HTTP' };
    set('m-by-transport', 'connections: ' + m.each('reactor_connections')
      .map((s) => `${names[s.labels.transport] || s.labels.transport} ${s.value}`).join(' · '));
    this.previous = { at: now, bytesIn, bytesOut };
  },
};
window.demo.counters = Counters;
Counters.tick();

"""#
