/// The page's style sheet: system fonts, light and dark, one column on a phone and a grid on a
/// desktop. Status colours always come with a word, never colour alone.
let pageStyle: StaticString = #"""
:root {
  --bg: #f5f6f8; --panel: #fff; --text: #1d2330; --muted: #5f6b7a; --line: #dfe3ea;
  --accent: #2f5fd0; --accent-text: #fff; --ok: #1d7a46; --warn: #9a5b00; --bad: #b3261e;
  --code: #eef1f6; --mine: #eaf0ff; --radius: 10px;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #12151b; --panel: #1b2029; --text: #e6e9ef; --muted: #9aa5b4; --line: #2c3340;
    --accent: #7aa2ff; --accent-text: #0d1220; --ok: #5fd08f; --warn: #f0b84d; --bad: #ff8a80;
    --code: #242a35; --mine: #22304d;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .9em; }
code { background: var(--code); padding: .05rem .3rem; border-radius: 4px; overflow-wrap: anywhere; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

.top { max-width: 76rem; margin: 0 auto; padding: 1.25rem 1rem .25rem; display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; }
.top h1 { margin: 0; font-size: 1.5rem; letter-spacing: -.01em; }
.top p { margin: 0; color: var(--muted); flex: 1 1 20rem; }
.top nav { display: flex; gap: .75rem; font-size: .9rem; }

main { max-width: 76rem; margin: 0 auto; padding: .75rem 1rem 2rem; display: grid; gap: 1rem;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 21rem), 1fr)); align-items: start; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); padding: 1rem; min-width: 0; }
#chat-panel { grid-row: span 2; }
@media (min-width: 60rem) { #chat-panel { grid-column: span 2; } }
.panel-head { display: flex; align-items: center; gap: .5rem; flex-wrap: wrap; margin-bottom: .5rem; }
.panel-head h2 { margin: 0; font-size: 1.1rem; margin-right: auto; }
.hint { margin: 0 0 .75rem; color: var(--muted); font-size: .9rem; }

.status { font-size: .8rem; font-weight: 600; padding: .1rem .55rem; border-radius: 999px; border: 1px solid currentColor; white-space: nowrap; }
.status::before { content: "●"; margin-right: .3rem; }
.status[data-state="connected"] { color: var(--ok); }
.status[data-state="connecting"], .status[data-state="reconnecting"] { color: var(--warn); }
.status[data-state="offline"], .status[data-state="error"] { color: var(--bad); }
.status[data-state="idle"] { color: var(--muted); }
.badge { font-size: .8rem; padding: .1rem .5rem; border-radius: 6px; background: var(--code); color: var(--text); white-space: nowrap; }

form.row, .row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
form.row input[type="text"] { flex: 1 1 10rem; min-width: 0; }
input[type="text"] { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 8px; padding: .45rem .6rem; }
button { font: inherit; font-weight: 600; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-text); border-radius: 8px; padding: .45rem .9rem; cursor: pointer; }
button.ghost { background: transparent; color: var(--accent); }
button:disabled { opacity: .5; cursor: default; }
.small { font-size: .85rem; color: var(--muted); }

fieldset.transports { border: 1px solid var(--line); border-radius: 8px; margin: .75rem 0; padding: .35rem .75rem .5rem; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
fieldset.transports legend { font-size: .8rem; color: var(--muted); padding: 0 .25rem; }
fieldset.transports label { display: inline-flex; align-items: center; gap: .3rem; cursor: pointer; }

.log { list-style: none; margin: .75rem 0 0; padding: 0; border-top: 1px solid var(--line); max-height: 16rem; overflow-y: auto; }
.log li { padding: .3rem .1rem; border-bottom: 1px solid var(--line); display: flex; gap: .5rem; align-items: baseline; min-width: 0; }
.log .text { flex: 1; overflow-wrap: anywhere; white-space: pre-wrap; }
.log .meta { color: var(--muted); font-size: .8rem; white-space: nowrap; }
#chat-messages { height: 22rem; max-height: 60vh; }
#chat-messages li.mine .text::before { content: "you · "; color: var(--muted); font-size: .8rem; }
#chat-messages li.mine { background: var(--mine); }
#chat-messages li.divider { justify-content: center; color: var(--muted); font-size: .8rem; font-style: italic; }
#chat-messages li.old { opacity: .55; }
#chat-messages .id { color: var(--muted); font-size: .8rem; min-width: 2.5rem; text-align: right; }
#chat-outbox li { color: var(--warn); }
#chat-outbox:empty { display: none; }
.notice { margin: .5rem 0 0; padding: .4rem .6rem; border-radius: 8px; background: var(--code); font-size: .85rem; }
.notice:empty { display: none; }
#chat-form { margin-top: .75rem; }

.counters { display: grid; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); gap: .5rem; margin: 0; }
.counters div { background: var(--bg); border-radius: 8px; padding: .45rem .6rem; min-width: 0; }
.counters dt { font-size: .75rem; color: var(--muted); }
.counters dd { margin: 0; font-size: 1.15rem; font-weight: 650; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.counters dd small { font-size: .75rem; font-weight: 400; color: var(--muted); }
.split { font-size: .8rem; color: var(--muted); margin: .5rem 0 0; }

.endpoints { margin: 0; padding-left: 1.1rem; font-size: .88rem; }
.endpoints li { margin: .2rem 0; }
pre.snippet { background: var(--code); border-radius: 8px; padding: .6rem .7rem; overflow-x: auto; font-size: .82rem; margin: .5rem 0 0; }
footer { max-width: 76rem; margin: 0 auto; padding: 0 1rem 2rem; color: var(--muted); font-size: .8rem; }
"""#
