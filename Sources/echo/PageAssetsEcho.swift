/// The Echo panel: one WebSocket on `/echo`, reconnected with backoff; each round trip is shown
/// with its latency (echoes come back in order, so the oldest unanswered send is the one).
let pageScriptEcho: StaticString = #"""
// ---- echo ---------------------------------------------------------------------------------
const Echo = {
  ws: null,
  sent: [],      // performance.now() of each unanswered send, oldest first
  count: 0,
  attempt: 0,
  timer: null,

  connect() {
    clearTimeout(this.timer);
    if (this.ws) { const old = this.ws; this.ws = null; old.close(); }
    const status = $('echo-status');
    if (!('WebSocket' in window)) { setStatus(status, 'offline', 'unavailable', 'this browser has no WebSocket'); return; }
    setStatus(status, 'connecting', 'connecting');
    const ws = new WebSocket(wsOrigin + '/echo');
    this.ws = ws;
    this.sent = [];
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      setStatus(status, 'connected', 'connected');
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      const at = this.sent.shift();
      const rtt = at === undefined ? NaN : performance.now() - at;
      this.count += 1;
      $('echo-count').textContent = String(this.count);
      $('echo-latency').textContent = formatMs(rtt);
      const item = element('li', 'echo-entry');
      item.dataset.testid = 'echo-entry';
      item.dataset.rttMs = Number.isFinite(rtt) ? rtt.toFixed(3) : '';
      item.append(element('span', 'text', typeof event.data === 'string' ? event.data : '(binary)'),
                  element('span', 'meta', formatMs(rtt)));
      const log = $('echo-log');
      log.prepend(item);
      trimList(log, 50, true);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const delay = backoffDelay(this.attempt++);
      setStatus(status, 'reconnecting', `reconnecting in ${(delay / 1000).toFixed(1)} s`,
                `closed with code ${event.code}${event.reason ? ': ' + event.reason : ''}`);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  },

  send(text) {
    if (!this.ws || this.ws.readyState !== 1) return false;  // OPEN
    this.sent.push(performance.now());
    this.ws.send(text);
    return true;
  },
};

$('echo-url').textContent = wsOrigin + '/echo';
$('snippet-ws').textContent =
  `const socket = new WebSocket('${wsOrigin}/echo');\n` +
  `socket.onopen = () => socket.send('hello');\n` +
  `socket.onmessage = (e) => console.log(e.data);`;
$('echo-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('echo-input');
  if (input.value === '') return;
  if (Echo.send(input.value)) input.value = '';
});
$('echo-reconnect').addEventListener('click', () => { Echo.attempt = 0; Echo.connect(); });
window.demo.echo = Echo;
Echo.connect();

"""#
