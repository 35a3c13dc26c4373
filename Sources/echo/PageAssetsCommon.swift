/// Helpers every panel's script uses: element lookup, status chips, the reconnect backoff, and
/// number formatting. Plain browser JavaScript, no framework; `window.demo` is the handle the
/// browser tests (and a curious reader at the console) use.
let pageScriptCommon: StaticString = #"""
// ---- common -------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);
const pageParams = new URLSearchParams(location.search);
const wsOrigin = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
window.demo = {};

// A status chip: data-state picks the colour, the text says the same thing in words.
function setStatus(el, state, text, detail) {
  el.dataset.state = state;
  el.textContent = text || state;
  el.title = detail || '';
}

// Reconnect delay after `attempt` failures in a row: doubling from 0.5 s up to 10 s, with "equal
// jitter" (a random point in the upper half) so tabs that lost the same server do not all come
// back in the same millisecond.
function backoffDelay(attempt) {
  const cap = Math.min(10000, 500 * 2 ** Math.min(attempt, 10));
  return cap / 2 + Math.random() * cap / 2;
}

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Keeps a log list short: a page left open for a day must not grow without bound.
function trimList(list, max, fromEnd) {
  while (list.children.length > max) list.removeChild(fromEnd ? list.lastElementChild : list.firstElementChild);
}

function formatCount(n) {
  if (!Number.isFinite(n)) return '–';
  return n >= 1e6 ? (n / 1e6).toFixed(n >= 1e7 ? 0 : 1) + ' M' : n >= 1e4 ? (n / 1e3).toFixed(n >= 1e5 ? 0 : 1) + ' k' : String(Math.round(n));
}

function formatBytes(n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(n >= 100 ? 0 : 1)) + ' ' + units[i];
}

function formatMs(ms) {
  if (!Number.isFinite(ms)) return '–';
  return ms < 1 ? Math.round(ms * 1000) + ' µs' : ms < 100 ? ms.toFixed(1) + ' ms' : Math.round(ms) + ' ms';
}

function formatSeconds(s) { return formatMs(s * 1000); }

"""#
