"""What the participant's browser runs besides Streamlit's own page: the page style (a compact
layout that keeps every answer button on screen from a 360 x 640 phone up), a "connection
lost" notice, and a one-time report of the screen and window size.

Only fixed code goes into these scripts and styles; nothing from the study, the URL or the
database is ever interpolated into them. (Streamlit does not run a script whose strings
contain HTML tags, so the notice is built with DOM calls.)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import streamlit as st

DEVICE_KEY = "device"
MAX_PIXELS = 100_000
"""Sizes a browser reports above this (or below 1) are not plausible and are not stored."""

PAGE_STYLE = """
<style>
  #MainMenu, footer, header[data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stElementToolbar"], .st-key-device { display: none !important; }
  .block-container { max-width: 720px; padding: 1rem 1rem 1rem; }
  .st-key-trial { gap: 0.5rem; }
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
  /* The sketch gets the height the rest of the trial leaves (--sk-rest; more with a
     longer attention-check prompt), so every button stays on screen. */
  .sk-head { --sk-rest: 22rem; --sk-prompt: 0rem; }
  .sk-prompted { --sk-prompt: 2.5rem; }
  .sk-sketch {
    display: block; margin: 0 auto; width: auto; max-width: 100%; min-height: 7rem;
    height: min(48vh, calc(100vh - var(--sk-rest) - var(--sk-prompt))); object-fit: contain;
    background: #fff; border: 1px solid #e3e6ea; border-radius: 10px; padding: 6px;
    box-sizing: border-box;
  }
  .stButton button { min-height: 3rem; font-size: 1.05rem; }
  [class*="st-key-answers"] { gap: 0.5rem; }
  [class*="st-key-answers"] > div { flex: 1 1 30%; min-width: 9rem; }
  .st-key-answers-with-none > div:last-child { flex-basis: 100%; }
  /* The button under the pointer must not look chosen on the next trial: no hover look
     until the pointer moves (study/trial_page.py sets sk-fresh on each trial). */
  body.sk-fresh [class*="st-key-answers"] button:hover { background-color: #fff; }
  @media (hover: none) {
    [class*="st-key-answers"] button:hover { background-color: #fff; }
  }
  @media (max-width: 640px) {
    .block-container { padding: 0.6rem 0.75rem 0.75rem; }
    .stButton button { min-height: 2.6rem; font-size: 1rem; }
    [class*="st-key-answers"] > div { flex-basis: 40%; min-width: 7rem; }
    .sk-head { --sk-rest: 21rem; }
  }
  @media (max-height: 720px) {
    .sk-question { font-size: 1.05rem; }
    .stButton button { min-height: 2.5rem; padding-top: 0.25rem; padding-bottom: 0.25rem; }
  }
  /* A phone on its side: the sketch on the left, the buttons on the right. */
  @media (orientation: landscape) and (max-height: 500px) {
    .block-container { max-width: 100%; padding: 0.5rem 1rem; }
    .st-key-trial { flex-direction: row; align-items: center; }
    .st-key-trial > div:first-child { flex: 0 0 46%; }
    .st-key-trial > div:last-child { flex: 1 1 0; }
    .sk-head { --sk-rest: 8rem; }
    .sk-sketch { height: calc(100vh - var(--sk-rest) - var(--sk-prompt)); min-height: 6rem; }
    [class*="st-key-answers"] > div { flex-basis: 40%; min-width: 6rem; }
  }
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

CONNECTION_NOTICE = """
<script>
(function () {
  if (window.sketchlabConnectionNotice) return;
  window.sketchlabConnectionNotice = true;
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
  add(card, "p", "Your answers so far are saved. Please check your internet connection, " +
    "then reload this page to continue where you left off.");
  var reload = add(card, "button", "Reload");
  reload.type = "button";
  reload.addEventListener("click", function () { location.reload(); });
  // Streamlit's own "Connection error" dialog (hidden while disconnected, see the style)
  // marks the rest of the page inert: keep the notice usable.
  new MutationObserver(function () { if (notice.inert) notice.inert = false; })
    .observe(notice, { attributes: true, attributeFilter: ["inert"] });
  var pending = null;
  function check() {
    var app = document.querySelector("[data-testid=stApp]");
    var state = app && app.getAttribute("data-test-connection-state");
    var lost = Boolean(state && state !== "CONNECTED");
    document.body.classList.toggle("sk-disconnected", lost);
    if (lost) {
      if (notice.hidden && pending === null) {
        pending = setTimeout(function () { notice.hidden = false; pending = null; }, 1500);
      }
    } else {
      clearTimeout(pending);
      pending = null;
      notice.hidden = true;
    }
  }
  new MutationObserver(check).observe(document.body, {
    attributes: true, subtree: true, attributeFilter: ["data-test-connection-state"]
  });
  check();
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


def page_chrome() -> None:
    """The page style and the connection-lost notice (one element per full page run)."""
    st.html(PAGE_STYLE + CONNECTION_NOTICE, unsafe_allow_javascript=True)


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
