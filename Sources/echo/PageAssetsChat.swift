/// The Chat panel: rooms, the transport choice, reconnection and resume.
///
/// The page keeps the highest message id it has shown (`lastId`) and the server instance that
/// numbered it. Every (re)connection first catches up over plain HTTP (`/messages?cursor=lastId`,
/// which also tells whether the server is up at all and whether it is still the same process),
/// then opens its transport asking for what came after, so nothing is lost across a reconnect or
/// a switch, and ids make every message appear once. "auto" starts with WebSocket and falls back
/// (SSE, then long polling) only when a transport fails to open twice in a row while the server
/// answers plain HTTP: a server that is down is waited for with backoff, not mistaken for a proxy
/// that blocks WebSockets. After a reset (the server restarted, or no longer has what this tab
/// missed) the old messages stay, dimmed, above a divider, and the room's log is loaded anew.
let pageScriptChat: StaticString = #"""
// ---- chat ---------------------------------------------------------------------------------
const transportLabels = { websocket: 'WebSocket', sse: 'SSE + POST', longpoll: 'long polling' };
const transportOrder = ['websocket', 'sse', 'longpoll'];

const Chat = {
  room: 'lobby',
  mode: 'auto',          // what the user picked: auto | websocket | sse | longpoll
  kind: null,            // the transport in use (or being connected)
  conn: null,
  generation: 0,         // bumps whenever the current transport is replaced: late callbacks are ignored
  lastId: 0,
  instance: null,        // X-Reactor-Instance of the server that numbered lastId
  ids: new Set(),        // ids shown since the last reset
  epoch: 0,
  attempt: 0,
  timer: null,
  holdUntil: 0,
  reconnects: 0,
  everOpened: false,
  failuresWhileReachable: 0,
  outbox: [],
  flushing: false,
  mine: new Map(),       // text -> how many of this tab's sends are still to come back

  supported(kind) {
    return kind === 'websocket' ? 'WebSocket' in window : kind === 'sse' ? 'EventSource' in window : true;
  },

  // The first supported transport from `kind` on, in auto mode's order.
  usable(kind) {
    for (let i = transportOrder.indexOf(kind); i >= 0 && i < transportOrder.length; i++) {
      if (this.supported(transportOrder[i])) return transportOrder[i];
    }
    return null;
  },

  join(room) {
    this.stop();
    this.room = room;
    this.lastId = 0;
    this.instance = null;
    this.ids = new Set();
    this.epoch += 1;
    this.attempt = 0;
    this.everOpened = false;
    this.failuresWhileReachable = 0;
    this.kind = null;
    $('chat-messages').replaceChildren();
    $('chat-room').value = room;
    this.notice('');
    this.showLastId();
    this.rememberInURL();
    this.start();
  },

  choose(mode) {
    this.mode = mode;
    this.kind = null;
    this.everOpened = false;  // a switch by hand is a new connection, not a reconnect
    this.attempt = 0;
    this.failuresWhileReachable = 0;
    const radio = $('transport-' + mode);
    if (radio) radio.checked = true;
    this.rememberInURL();
    this.stop();
    this.start();
  },

  start() {
    clearTimeout(this.timer);
    this.timer = null;
    const kind = this.mode === 'auto' ? this.usable(this.kind || 'websocket') : this.mode;
    if (!kind || !this.supported(kind)) {
      setStatus($('chat-status'), 'offline', 'unavailable');
      this.notice(`${transportLabels[this.mode] || this.mode} is not available in this browser.`);
      return;
    }
    this.kind = kind;
    const badge = $('chat-transport');
    badge.dataset.transport = kind;
    badge.textContent = transportLabels[kind];
    setStatus($('chat-status'), this.everOpened ? 'reconnecting' : 'connecting', this.everOpened ? 'reconnecting' : 'connecting');
    const gen = ++this.generation;
    this.catchUp(gen).then((caughtUp) => {
      if (gen !== this.generation) return;
      if (!caughtUp) { this.retryLater('the server does not answer'); return; }
      this.conn = ChatTransports[kind](this.room, this.lastId, this.instance, this.sinkFor(gen));
    });
  },

  // The room's messages after lastId over plain HTTP, before a transport opens. A response from
  // another server instance (or with a cursor behind ours) means the server restarted: its ids
  // begin again, so this tab's history starts over from the new server's log.
  async catchUp(gen) {
    for (;;) {
      let response;
      let body;
      try {
        response = await fetch(`/messages?room=${encodeURIComponent(this.room)}&cursor=${this.lastId}`, { cache: 'no-store' });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        body = await response.json();
      } catch (e) {
        return false;
      }
      if (gen !== this.generation) return false;
      const instance = response.headers.get('X-Reactor-Instance');
      if (this.lastId > 0 && (instance !== this.instance || body.cursor < this.lastId)) {
        this.beginEpoch('the server restarted');
        continue;
      }
      this.instance = instance;
      for (const m of body.messages) this.accept(m.id, m.data);
      return true;
    }
  },

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.generation += 1;
    if (this.conn) { this.conn.close(); this.conn = null; }
  },

  sinkFor(gen) {
    const live = () => gen === this.generation;
    return {
      opened: () => { if (live()) this.opened(); },
      message: (id, text) => { if (live()) this.accept(id, text); },
      reset: (info) => { if (live()) this.reset(info); },
      lost: (hadWorked, why) => { if (live()) this.lost(hadWorked, why); },
      reconnecting: (why) => { if (live()) setStatus($('chat-status'), 'reconnecting', 'reconnecting', why); },
      notice: (text) => { if (live()) this.notice(text); },
    };
  },

  opened() {
    if (this.everOpened) {
      this.reconnects += 1;
      $('chat-reconnects').textContent = String(this.reconnects);
    }
    this.everOpened = true;
    this.attempt = 0;
    this.failuresWhileReachable = 0;
    setStatus($('chat-status'), 'connected', 'connected', `${transportLabels[this.kind]} to room ${this.room}`);
    this.flush();
  },

  async lost(hadWorked, why) {
    this.conn = null;
    const gen = this.generation;
    const next = this.usable(transportOrder[transportOrder.indexOf(this.kind) + 1]);
    if (!hadWorked && this.mode === 'auto' && next) {
      // It never opened: is it this transport, or the whole server? Plain HTTP tells.
      setStatus($('chat-status'), 'connecting', 'connecting', why);
      const reachable = await this.reachable();
      if (gen !== this.generation) return;
      if (reachable && ++this.failuresWhileReachable >= 2) {
        this.notice(`${transportLabels[this.kind]} does not get through although the server answers: using ${transportLabels[next]}.`);
        this.kind = next;
        this.failuresWhileReachable = 0;
        this.start();
        return;
      }
      if (reachable) { this.start(); return; }
    }
    this.retryLater(why);
  },

  retryLater(why) {
    const delay = backoffDelay(this.attempt++);
    setStatus($('chat-status'), this.everOpened ? 'reconnecting' : 'offline',
              `${this.everOpened ? 'reconnecting' : 'offline'}: retry in ${(delay / 1000).toFixed(1)} s`, why);
    const gen = this.generation;
    const retry = () => {
      if (gen !== this.generation) return;
      if (performance.now() < this.holdUntil) { this.timer = setTimeout(retry, 100); return; }
      this.start();
    };
    this.timer = setTimeout(retry, delay);
  },

  async reachable() {
    try {
      const response = await fetch(`/messages?room=${encodeURIComponent(this.room)}&cursor=${this.lastId}`, { cache: 'no-store' });
      return response.ok;
    } catch (e) {
      return false;
    }
  },

  // A transport says the server cannot resume this tab (another instance, or a gap older than
  // the room's log): start a new history and connect again, which loads the room's log anew.
  reset(info) {
    this.stop();
    this.beginEpoch(info.restarted ? 'the server restarted' : 'the server no longer has what this tab missed');
    this.start();
  },

  // Keeps what is shown, dimmed, above a divider; what follows is the room as the server has it.
  beginEpoch(why) {
    this.epoch += 1;
    this.ids = new Set();
    this.lastId = 0;
    this.instance = null;
    this.showLastId();
    const list = $('chat-messages');
    for (const item of list.children) item.classList.add('old');
    const divider = element('li', 'divider', `history reset: ${why}`);
    divider.dataset.testid = 'chat-divider';
    list.append(divider);
    this.notice(`History reset (${why}): the messages below the line are the room as the server has it now.`);
  },

  accept(id, text) {
    if (!Number.isFinite(id) || id <= 0 || this.ids.has(id)) return;
    if (this.lastId > 0 && id > this.lastId + 1 && !this.ids.has(id - 1)) {
      this.notice(`Messages ${this.lastId + 1}–${id - 1} are no longer on the server.`);
    }
    this.ids.add(id);
    const item = element('li', 'msg');
    item.dataset.id = String(id);
    item.dataset.epoch = String(this.epoch);
    const pending = this.mine.get(text);
    if (pending) {
      item.classList.add('mine');
      if (pending > 1) this.mine.set(text, pending - 1); else this.mine.delete(text);
    }
    item.append(element('span', 'id', '#' + id), element('span', 'text', text));
    // Messages arrive in id order; only a resume that overlaps may bring an older one.
    const list = $('chat-messages');
    let before = null;
    if (id < this.lastId) {
      for (const other of list.querySelectorAll(`li.msg[data-epoch="${this.epoch}"]`)) {
        if (Number(other.dataset.id) > id) { before = other; break; }
      }
    }
    const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.insertBefore(item, before);
    trimList(list, 500, false);
    if (stick) list.scrollTop = list.scrollHeight;
    this.lastId = Math.max(this.lastId, id);
    this.showLastId();
  },

  // Sends go out in order: over the WebSocket when it is open, else POST /send. What cannot go
  // out now (server down) waits in the outbox until a transport opens again.
  send(text) {
    this.mine.set(text, (this.mine.get(text) || 0) + 1);
    this.outbox.push(text);
    this.showOutbox();
    this.flush();
  },

  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0) {
        const text = this.outbox[0];
        if (!(this.conn && this.conn.send(text))) {
          const outcome = await this.post(text);
          if (outcome === 'retry') break;
          if (outcome === 'refused') this.notice(`The server refused a message: ${text.slice(0, 40)}`);
        }
        this.outbox.shift();
        this.showOutbox();
      }
    } finally {
      this.flushing = false;
    }
  },

  async post(text) {
    try {
      const response = await fetch(`/send?room=${encodeURIComponent(this.room)}`, { method: 'POST', body: text });
      return response.ok ? 'sent' : response.status >= 500 ? 'retry' : 'refused';
    } catch (e) {
      return 'retry';
    }
  },

  showOutbox() {
    const box = $('chat-outbox');
    box.replaceChildren(...this.outbox.map((t) => {
      const item = element('li', '', '');
      item.append(element('span', 'text', t), element('span', 'meta', 'waiting to be sent'));
      return item;
    }));
  },

  showLastId() { $('chat-last-id').textContent = String(this.lastId); },

  notice(text) { $('chat-notice').textContent = text; },

  rememberInURL() {
    const url = new URL(location.href);
    url.searchParams.set('room', this.room);
    url.searchParams.set('transport', this.mode);
    history.replaceState(null, '', url);
  },

  // For tests and the curious: break the current connection as the network would; hold(ms) keeps
  // the page from reconnecting until release() (or ms pass), so that messages can be sent while it
  // is away, which must then arrive with the resume.
  dropConnection(holdMs) {
    if (holdMs) this.hold(holdMs);
    if (this.conn) this.conn.drop();
  },

  hold(ms) { this.holdUntil = performance.now() + ms; },

  release() { this.holdUntil = 0; },

  state() {
    return {
      room: this.room, mode: this.mode, kind: this.kind, status: $('chat-status').dataset.state,
      lastId: this.lastId, epoch: this.epoch, reconnects: this.reconnects, outbox: this.outbox.length,
      messages: [...$('chat-messages').querySelectorAll(`li.msg[data-epoch="${this.epoch}"]`)]
        .map((li) => ({ id: Number(li.dataset.id), text: li.querySelector('.text').textContent })),
    };
  },
};

for (const radio of document.querySelectorAll('input[name="transport"]')) {
  radio.addEventListener('change', () => { if (radio.checked) Chat.choose(radio.value); });
}
$('chat-room-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const room = $('chat-room').value.trim();
  if (room && room !== Chat.room) Chat.join(room);
});
$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('chat-input');
  if (input.value.trim() === '') return;
  Chat.send(input.value);
  input.value = '';
});
window.demo.chat = Chat;
{
  const mode = pageParams.get('transport');
  if (mode && (mode === 'auto' || transportOrder.includes(mode))) {
    Chat.mode = mode;
    $('transport-' + mode).checked = true;
  }
  Chat.join((pageParams.get('room') || 'lobby').slice(0, 128));
}

"""#
