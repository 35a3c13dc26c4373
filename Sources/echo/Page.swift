import Connections
import Reactor

/// The demo page: `GET /` is the markup, and its style sheet and script come from the binary too
/// (`/assets/page.css`, `/assets/page.js`): nothing from another host, no build step. The markup
/// stays small because clients may pipeline many `GET /` (the HTTP conformance suite sends 2,000
/// without reading): a page with everything inlined multiplied that by thirty.
///
/// Each piece is assembled once, at first use, from the StaticStrings in `PageAssets*.swift`, and
/// sent to every visitor as the same shared bytes. The markup gives selenium
/// (`Tests/Conformance/browser/`) stable ids; the script exposes `window.demo` for the same reason.
let indexPage = SharedBytes(text(pageTop) + text(pageBody))

let pageStyleSheet = SharedBytes(text(pageStyle))

let pageScript = SharedBytes("'use strict';\n" + text(pageScriptCommon) + text(pageScriptEcho)
    + text(pageScriptChatTransports) + text(pageScriptChat) + text(pageScriptCounters))

/// Routes the page's style sheet and script. `no-cache`: a browser revalidates, so a rebuilt
/// server never runs with a stale script.
func installPageAssets(on router: HTTPRouter) {
    router.get("/assets/page.css") { _, res in
        res.respond(contentType: "text/css; charset=utf-8", headers: [("Cache-Control", "no-cache")], body: pageStyleSheet)
    }
    router.get("/assets/page.js") { _, res in
        res.respond(contentType: "text/javascript; charset=utf-8", headers: [("Cache-Control", "no-cache")], body: pageScript)
    }
}

private func text(_ s: StaticString) -> String {
    s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
}

private let pageTop: StaticString = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Reactor demo</title>
<link rel="stylesheet" href="/assets/page.css">
<script src="/assets/page.js" defer></script>
"""#

private let pageBody: StaticString = #"""
</head>
<body>
<header class="top">
  <h1>Reactor</h1>
  <p>A Swift networking runtime on Linux epoll: WebSocket, Server-Sent Events and long polling from one event loop.</p>
  <nav aria-label="Raw endpoints"><a href="/metrics">/metrics</a><a href="/plaintext">/plaintext</a></nav>
</header>
<main>
  <section id="echo-panel" class="panel" aria-labelledby="echo-title">
    <div class="panel-head">
      <h2 id="echo-title">Echo</h2>
      <span id="echo-status" class="status" data-state="idle" role="status">idle</span>
    </div>
    <p class="hint">A WebSocket on <code id="echo-url">/echo</code>: every message comes back as it was sent.</p>
    <form id="echo-form" class="row" autocomplete="off">
      <label for="echo-input" class="visually-hidden">Message to echo</label>
      <input id="echo-input" data-testid="echo-input" type="text" placeholder="Say something" maxlength="4096">
      <button id="echo-send" data-testid="echo-send" type="submit">Send</button>
    </form>
    <p class="row small" style="margin:.5rem 0 0">
      <span>round trips <b id="echo-count">0</b> · last <b id="echo-latency">–</b></span>
      <button id="echo-reconnect" class="ghost" type="button">Reconnect</button>
    </p>
    <ol id="echo-log" class="log" data-testid="echo-log" aria-live="polite" aria-label="Echoed messages"></ol>
  </section>

  <section id="chat-panel" class="panel" aria-labelledby="chat-title">
    <div class="panel-head">
      <h2 id="chat-title">Chat</h2>
      <span id="chat-transport" class="badge" data-transport="" title="Transport in use">–</span>
      <span id="chat-status" class="status" data-state="idle" role="status">idle</span>
    </div>
    <p class="hint">Rooms reached from every transport: open this page twice, pick different transports, and talk.</p>
    <form id="chat-room-form" class="row" autocomplete="off">
      <label for="chat-room">Room</label>
      <input id="chat-room" data-testid="chat-room" type="text" value="lobby" maxlength="128" required>
      <button id="chat-join" type="submit" class="ghost">Join</button>
    </form>
    <fieldset class="transports" id="chat-transports">
      <legend>Transport</legend>
      <label><input type="radio" name="transport" value="auto" id="transport-auto" checked> auto</label>
      <label><input type="radio" name="transport" value="websocket" id="transport-websocket"> WebSocket</label>
      <label><input type="radio" name="transport" value="sse" id="transport-sse"> SSE + POST</label>
      <label><input type="radio" name="transport" value="longpoll" id="transport-longpoll"> long polling</label>
    </fieldset>
    <p id="chat-notice" class="notice" role="status" aria-live="polite"></p>
    <ol id="chat-messages" class="log" data-testid="chat-messages" aria-live="polite" aria-label="Messages"></ol>
    <ol id="chat-outbox" class="log" aria-label="Waiting to be sent"></ol>
    <form id="chat-form" class="row" autocomplete="off">
      <label for="chat-input" class="visually-hidden">Message</label>
      <input id="chat-input" data-testid="chat-input" type="text" placeholder="Message the room" maxlength="4096">
      <button id="chat-send" data-testid="chat-send" type="submit">Send</button>
    </form>
    <p class="small" style="margin:.5rem 0 0">
      last id <b id="chat-last-id">0</b> · reconnects <b id="chat-reconnects">0</b> ·
      resume: WebSocket <code>after=</code>, SSE <code>Last-Event-ID</code>, long poll <code>cursor=</code>
    </p>
  </section>

  <section id="counters-panel" class="panel" aria-labelledby="counters-title">
    <div class="panel-head">
      <h2 id="counters-title">Server counters</h2>
      <span id="counters-status" class="status" data-state="idle" role="status">idle</span>
    </div>
    <dl class="counters" data-testid="counters">
      <div><dt>connections</dt><dd id="m-connections">–</dd></div>
      <div><dt>messages in</dt><dd id="m-messages-in">–</dd></div>
      <div><dt>messages out</dt><dd id="m-messages-out">–</dd></div>
      <div><dt>bytes in</dt><dd id="m-bytes-in">–</dd></div>
      <div><dt>bytes out</dt><dd id="m-bytes-out">–</dd></div>
      <div><dt>broadcasts</dt><dd id="m-broadcasts">–</dd></div>
      <div><dt>deliveries</dt><dd id="m-deliveries">–</dd></div>
      <div><dt>pending write bytes</dt><dd id="m-pending">–</dd></div>
      <div><dt>timers armed</dt><dd id="m-timers">–</dd></div>
      <div><dt>loop iteration p99</dt><dd id="m-iteration">–</dd></div>
    </dl>
    <p class="split" id="m-by-transport">&nbsp;</p>
    <p class="small" style="margin:.5rem 0 0">Polled every second from <a href="/metrics">/metrics</a> (Prometheus text format).</p>
  </section>

  <section id="endpoints-panel" class="panel" aria-labelledby="endpoints-title">
    <div class="panel-head"><h2 id="endpoints-title">Try it yourself</h2></div>
    <ul class="endpoints">
      <li><code>ws /echo</code> echo; <code>ws /chat?room=R</code> chat room</li>
      <li><code>GET /events?room=R</code> SSE, honours <code>Last-Event-ID</code></li>
      <li><code>POST /send?room=R</code> body = text → <code>{"id":n}</code></li>
      <li><code>GET /messages?room=R&amp;cursor=N</code>, <code>GET /poll?…</code> (held)</li>
      <li><code>GET /metrics</code>, <code>GET /plaintext</code>, <code>GET /later?ms=N</code> (deferred)</li>
    </ul>
    <p class="hint" style="margin:.75rem 0 0">In this page's developer console:</p>
    <pre class="snippet" id="snippet-ws"></pre>
    <pre class="snippet" id="snippet-sse">const events = new EventSource('/events');
events.onmessage = (e) =&gt; console.log(e.lastEventId, e.data);</pre>
  </section>
</main>
<footer>Reactor demo server · everything on this page is served by the binary itself.</footer>
</body>
</html>
"""#
