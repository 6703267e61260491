"""What the participant's browser runs besides Streamlit's own page: the page style (a layout
that keeps every answer button on screen from a 320 x 568 phone up, study/layout.py), a
"connection lost" notice, a guard that makes one key press one answer (a held key does not
repeat), and a one-time report of the screen and window size.

Only fixed code goes into these scripts and styles; nothing from the study, the URL or the
database is ever interpolated into them. (Streamlit does not run a script whose strings
contain HTML tags, so the notice is built with DOM calls.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

import streamlit as st

from study.layout import answers_css

DEVICE_KEY = "device"
MAX_PIXELS = 100_000
"""Sizes a browser reports above this (or below 1) are not plausible and are not stored."""

PAGE_STYLE = (
    """
<style>
  #MainMenu, footer, header[data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stElementToolbar"], .st-key-device { display: none !important; }
  /* This style and its scripts take no room (and no gap) above the page. */
  .block-container > [data-testid="stVerticalBlock"] > .stElementContainer:has(> .stHtml > style) {
    display: none;
  }
  .block-container { max-width: 720px; padding: 1rem; }
  /* A trial is as tall as the window. Its parts (progress, question, sketch, countdown,
     buttons) are one column: all keep their height but the sketch, which shrinks to what is
     left, down to 7rem; below that the page scrolls (nothing overlaps). study/layout.py
     models this for `study check`. */
  .st-key-trial { gap: 0.35rem; flex: none; min-height: 0; height: calc(100dvh - 2rem); }
  .st-key-trial > .stElementContainer:first-child,
  .st-key-trial > .stElementContainer:first-child > .stHtml,
  .st-key-trial .sk-head { display: contents; }
  .st-key-trial .sk-head > *, .st-key-trial > :not(:first-child) {
    flex: none; align-self: stretch;
  }
  .st-key-trial > :not(:first-child) { margin-top: 0.15rem; }
  .sk-head { display: flex; flex-direction: column; gap: 0.35rem; }
  .sk-meter { display: flex; align-items: center; gap: 0.6rem; font-size: 0.85rem; }
  .sk-meter span { flex: none; min-width: 6.5rem; color: #4a5563; }
  .sk-bar { flex: 1; height: 8px; border-radius: 4px; background: #e3e6ea; overflow: hidden; }
  .sk-bar div { height: 100%; }
  .sk-progress .sk-bar div { background: #2f5d8a; }
  .sk-timer .sk-bar { height: 6px; background: #f6e7cf; }
  .sk-timer .sk-bar div { background: #d9822b; animation: sk-drain linear forwards; }
  @keyframes sk-drain { from { width: 100%; } to { width: 0%; } }
  .sk-question { font-size: 1.15rem; font-weight: 600; text-align: center; margin: 0; }
  .st-key-trial .sk-head > .sk-sketch {
    flex: 0 1 auto; align-self: center; display: block; width: auto; max-width: 100%;
    height: min(48vh, 28rem); min-height: 7rem; object-fit: contain;
    background: #fff; border: 1px solid #e3e6ea; border-radius: 10px; padding: 6px;
    box-sizing: border-box;
  }
  .stButton button { min-height: 3rem; font-size: 1.05rem; }
  /* The button under the pointer must not look chosen on the next trial: no hover look
     until the pointer moves (study/trial_page.py sets sk-fresh on each trial). */
  body.sk-fresh [class*="st-key-answers"] button:hover { background-color: #fff; }
  @media (hover: none) {
    [class*="st-key-answers"] button:hover { background-color: #fff; }
  }
  @media (max-width: 640px) {
    .block-container { padding: 0.6rem 0.75rem 0.75rem; }
    .st-key-trial { height: calc(100dvh - 1.35rem); }
    .stButton button { min-height: 2.5rem; font-size: 1rem; }
  }
  @media (max-height: 720px) {
    .sk-question { font-size: 1.05rem; }
    .stButton button { min-height: 2.5rem; padding-top: 0.25rem; padding-bottom: 0.25rem; }
  }
  /* A phone on its side: the sketch on the left, the buttons on the right. */
  @media (orientation: landscape) and (max-height: 500px) {
    .block-container { max-width: 100%; padding: 0.5rem 1rem; }
    .st-key-trial { flex-direction: row; align-items: safe center; height: calc(100dvh - 1rem); }
    .st-key-trial > .stElementContainer:first-child,
    .st-key-trial > .stElementContainer:first-child > .stHtml { display: block; height: 100%; }
    .st-key-trial > .stElementContainer:first-child { flex: 0 0 46%; }
    .st-key-trial .sk-head { display: flex; height: 100%; }
    .st-key-trial > :last-child { flex: 1 1 0; margin: 0 0 0 0.5rem; }
    .st-key-trial .sk-head > .sk-sketch { height: 100vh; }
  }
"""
    + answers_css()
    + """
  .sk-offline {
    position: fixed; inset: 0; z-index: 1000000; display: flex; align-items: center;
    justify-content: center; background: rgba(255, 255, 255, 0.85); padding: 1rem;
  }
  .sk-offline[hidden], body.sk-disconnected [data-testid="stDialog"] { display: none; }
  .sk-offline > div {
    max-width: 26rem; background: #fff; border: 1px solid #d0d4da; border-radius: 10px;
    padding: 1.25rem 1.5rem; box-shadow: 0 4px 24px rgba(0, 0, 0, 0.12); font-family: sans-serif;
  }
  .sk-offline button {
    font-size: 1rem; padding: 0.5rem 1.25rem; border-radius: 8px; border: none;
    background: #2f5d8a; color: #fff; cursor: pointer;
  }
</style>
"""
)

INTERRUPTION_COOKIE = "sketchlab_lost"
"""While the connection is lost, the page keeps "<lost at>.<still lost at>" (its own clock,
ms) in this cookie; the websocket of the page that reconnects carries it to the server
(`interruption_report`)."""
MAX_INTERRUPTION_MS = 24 * 3600 * 1000

CONNECTION_NOTICE = """
<script>
(function () {
  if (window.sketchlabConnectionNotice) return;
  window.sketchlabConnectionNotice = true;
  var cookie = "__COOKIE__";
  // This page is connected now: a report that brought it here has been read.
  document.cookie = cookie + "=; path=/; max-age=0; SameSite=Strict";
  function add(parent, tag, text) {
    var element = document.createElement(tag);
    if (text) element.textContent = text;
    parent.appendChild(element);
    return element;
  }
  var notice = add(document.body, "div");
  notice.className = "sk-offline";
  notice.hidden = true;
  notice.setAttribute("role", "alert");
  var card = add(notice, "div");
  add(card, "h3", "Connection lost");
  add(card, "p", "Your answers so far are saved, and the time without a connection does " +
    "not count. The page continues by itself when the connection is back; if it does " +
    "not, check your internet connection and reload this page.");
  var reload = add(card, "button", "Reload");
  reload.type = "button";
  reload.addEventListener("click", function () { location.reload(); });
  // Streamlit's own "Connection error" dialog (hidden while disconnected, see the style)
  // marks the rest of the page inert: keep the notice usable.
  new MutationObserver(function () { if (notice.inert) notice.inert = false; })
    .observe(notice, { attributes: true, attributeFilter: ["inert"] });
  var pending = null, lostAt = null, ticking = null;
  function remember() {  // how long the connection has been lost so far
    document.cookie = cookie + "=" + lostAt + "." + Date.now() + "; path=/; SameSite=Strict";
  }
  function check() {
    var app = document.querySelector("[data-testid=stApp]");
    var state = app && app.getAttribute("data-test-connection-state");
    var lost = Boolean(state && state !== "CONNECTED");
    document.body.classList.toggle("sk-disconnected", lost);
    if (lost) {
      if (lostAt === null) {
        lostAt = Date.now();
        remember();
        ticking = setInterval(remember, 500);
      }
      if (notice.hidden && pending === null) {
        pending = setTimeout(function () { notice.hidden = false; pending = null; }, 1500);
      }
    } else {
      clearTimeout(pending);
      pending = null;
      notice.hidden = true;
      if (lostAt !== null && state === "CONNECTED") {
        // Back: a fresh page (and session) tells the server how long it was lost, and shows
        // the trial afresh (study/trial_page.py).
        clearInterval(ticking);
        remember();
        location.reload();
      }
    }
  }
  new MutationObserver(check).observe(document.body, {
    attributes: true, subtree: true, attributeFilter: ["data-test-connection-state"]
  });
  check();
})();
</script>
"""

KEY_GUARD = """
<script>
(function () {
  // One answer per key press. Streamlit's button shortcuts act on every keydown, key
  // auto-repeat included, so a held "1" would answer trial after trial. Here (capture phase,
  // before Streamlit sees it) a repeated keydown of an answer key (1-9, Enter) is dropped,
  // and so is any answer key pressed while an earlier one is still held down: the next
  // answer needs a key release first.
  if (window.sketchlabKeys) return;
  window.sketchlabKeys = true;
  var held = new Set();
  var answerKey = /^(Digit[1-9]|Numpad[1-9]|Enter|NumpadEnter)$/;
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  window.addEventListener("keydown", function (event) {
    if (typing(event.target) || !answerKey.test(event.code)) return;
    if (event.repeat || held.size) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    held.add(event.code);
  }, true);
  window.addEventListener("keyup", function (event) { held.delete(event.code); }, true);
  window.addEventListener("blur", function () { held.clear(); });  // a release we cannot see
})();
</script>
"""

DEVICE_JS = """
export default function ({ setStateValue }) {
  setStateValue("size", {
    screen_width: screen.width, screen_height: screen.height,
    viewport_width: window.innerWidth, viewport_height: window.innerHeight
  });
}
"""


def interruption_report() -> tuple[int, str] | None:
    """(ms the connection was lost, the browser's mark for that loss) from this session's
    websocket request, if its page had lost the connection just before (CONNECTION_NOTICE);
    else None. Malformed or implausible values (a forged cookie) are dropped."""
    try:
        value = st.context.cookies.get(INTERRUPTION_COOKIE)
    except (AttributeError, RuntimeError):  # no browser session
        return None
    match = re.fullmatch(r"(\d{1,15})\.(\d{1,15})", value) if isinstance(value, str) else None
    if match is None:
        return None
    lost_ms = int(match.group(2)) - int(match.group(1))
    return (lost_ms, match.group(1)) if 0 <= lost_ms <= MAX_INTERRUPTION_MS else None


def page_chrome() -> None:
    """The page style, the connection-lost notice and the key guard (one element per full
    page run)."""
    notice = CONNECTION_NOTICE.replace("__COOKIE__", INTERRUPTION_COOKIE)
    st.html(PAGE_STYLE + notice + KEY_GUARD, unsafe_allow_javascript=True)


@cache
def _device_component():
    return st.components.v2.component("sketchlab_device", js=DEVICE_JS)


def report_device(on_report: Callable[[dict[str, int]], None]) -> None:
    """Ask the browser once for its screen and window size; `on_report` gets them (CSS
    pixels: screen_width, screen_height, viewport_width, viewport_height) in a callback.
    Implausible or malformed reports (a forged message) are dropped."""

    def received() -> None:
        size = device_size(st.session_state.get(DEVICE_KEY))
        if size is not None:
            on_report(size)

    _device_component()(key=DEVICE_KEY, on_size_change=received)


def device_size(state: object) -> dict[str, int] | None:
    """The four sizes from the component's state, or None unless all are plausible."""
    size = state.get("size") if isinstance(state, dict) else None
    names = ("screen_width", "screen_height", "viewport_width", "viewport_height")
    if not isinstance(size, dict):
        return None
    values = {name: size.get(name) for name in names}
    if all(
        isinstance(v, int | float) and not isinstance(v, bool) and 1 <= v <= MAX_PIXELS
        for v in values.values()
    ):
        return {name: round(value) for name, value in values.items()}
    return None
