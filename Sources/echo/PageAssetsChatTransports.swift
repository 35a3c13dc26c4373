/// The chat's three transports, each resuming after the last message id the page has, from the
/// server instance (process) that numbered it:
///
/// - WebSocket `/chat?room=R&after=N&instance=X`: a frame carries no id, so the server first
///   replays the messages after N and then the live ones, and frame k is message N+k. A close
///   with 4000 means it cannot (another instance: the server restarted; or a gap older than its log).
/// - SSE `/events?room=R&lastEventId=N&instance=X`: ids travel with the events; when the stream
///   breaks, the browser reconnects by itself with the `Last-Event-ID` header once, and the page
///   takes over if that fails too. `event: reset` says the history after N cannot be resumed.
/// - Long polling: `/messages?cursor=N` at once (so the page knows the server is there), then
///   `/poll?cursor=N` held until a message or 25 s. Another `X-Reactor-Instance` means a restart.
///
/// Each returns `{kind, send(text) -> bool, close(), drop()}` and reports to `sink`: opened(),
/// message(id, text), reset(info), lost(hadWorked, why), reconnecting(why), notice(text).
/// After close() nothing is reported; drop() breaks the connection as a network failure would
/// (what the browser tests use to exercise resume).
let pageScriptChatTransports: StaticString = #"""
// ---- chat transports ----------------------------------------------------------------------
// Named only when known: a server that sends no instance header is never taken for another one.
const instanceParam = (instance) => (instance ? `&instance=${encodeURIComponent(instance)}` : '');

const ChatTransports = {
  websocket(room, after, instance, sink) {
    const ws = new WebSocket(`${wsOrigin}/chat?room=${encodeURIComponent(room)}&after=${after}${instanceParam(instance)}`);
    let next = after + 1;
    let open = false;
    let done = false;
    ws.onopen = () => { if (!done) { open = true; sink.opened(); } };
    ws.onmessage = (event) => { if (!done) sink.message(next++, event.data); };
    ws.onclose = (event) => {
      if (done) return;
      done = true;
      if (event.code === 4000) sink.reset({ restarted: event.reason === 'server restarted' });
      else sink.lost(open, `the WebSocket closed (${event.code}${event.reason ? ': ' + event.reason : ''})`);
    };
    return {
      kind: 'websocket',
      send(text) {
        if (done || ws.readyState !== WebSocket.OPEN) return false;
        ws.send(text);
        return true;
      },
      close() { done = true; ws.close(1000); },
      drop() { ws.close(4001, 'dropped by the page'); },
    };
  },

  sse(room, after, instance, sink) {
    const es = new EventSource(`/events?room=${encodeURIComponent(room)}&lastEventId=${after}${instanceParam(instance)}`);
    let everOpen = false;
    let open = false;
    let done = false;
    const fail = (why) => {
      if (done) return;
      done = true;
      es.close();
      sink.lost(everOpen, why);
    };
    es.onopen = () => {
      if (done) return;
      everOpen = open = true;
      sink.opened();
    };
    es.onmessage = (event) => { if (!done) sink.message(Number(event.lastEventId), event.data); };
    es.addEventListener('reset', (event) => {
      if (done) return;
      let info = {};
      try { info = JSON.parse(event.data); } catch (e) { /* still a reset */ }
      sink.reset({ restarted: info.instance !== instance || info.last < after });
    });
    es.addEventListener('dropped', (event) => {
      if (!done) sink.notice(`${event.data} messages were dropped: this tab could not keep up`);
    });
    es.onerror = () => {
      if (done) return;
      if (open && es.readyState === EventSource.CONNECTING) {
        // The stream broke after it worked: let the browser try once, with Last-Event-ID.
        open = false;
        sink.reconnecting('the event stream broke; the browser resumes it with Last-Event-ID');
        return;
      }
      fail('the event stream failed');
    };
    return {
      kind: 'sse',
      send() { return false; },
      close() { done = true; es.close(); },
      drop() { fail('the event stream was dropped by the page'); },
    };
  },

  longpoll(room, after, instance, sink) {
    const controller = new AbortController();
    const query = `room=${encodeURIComponent(room)}`;
    let cursor = after;
    let open = false;
    let done = false;
    (async () => {
      let url = `/messages?${query}&cursor=${cursor}`;
      while (!done) {
        let body;
        let from;
        try {
          const response = await fetch(url, { signal: controller.signal, cache: 'no-store' });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          from = response.headers.get('X-Reactor-Instance');
          body = await response.json();
        } catch (error) {
          if (done) return;
          done = true;
          sink.lost(open, `the long poll failed (${error.name === 'AbortError' ? 'dropped' : error.message})`);
          return;
        }
        if (done) return;
        if (!open) { open = true; sink.opened(); }
        if (from !== instance || body.cursor < cursor) {
          done = true;
          sink.reset({ restarted: true });
          return;
        }
        for (const m of body.messages) sink.message(m.id, m.data);
        cursor = Math.max(cursor, body.cursor);
        url = `/poll?${query}&cursor=${cursor}&timeout=25`;
      }
    })();
    return {
      kind: 'longpoll',
      send() { return false; },
      close() { done = true; controller.abort(); },
      drop() { controller.abort(); },
    };
  },
};

"""#
