"""Talking to a running study server the way a browser tab does (Streamlit's websocket
protocol), and starting one on loopback: used by the load bench and the server tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base_url: str, process: subprocess.Popen | None, timeout_s: float = 60) -> None:
    """Poll Streamlit's `/_stcore/health` until it answers `ok`; raise if the server process
    exits first or does not answer within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"study server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"study server at {base_url} was not healthy within {timeout_s:.0f} s")


def start_server(
    config_path: Path,
    storage: str,
    port: int,
    log_path: Path,
    extra_options: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """`sketchlab study serve` on loopback as a child process (logs to `log_path`);
    `extra_options` go to `streamlit run`, e.g. `--server.baseUrlPath=study`; `env` adds to
    this process's environment."""
    command = [
        sys.executable,
        "-m",
        "sketchlab",
        "study",
        "serve",
        str(config_path),
        "--storage",
        storage,
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        *extra_options,
    ]
    with open(log_path, "wb") as log:  # the child keeps its own copy of the file descriptor
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )


def stop_process(process: subprocess.Popen, timeout_s: float = 20) -> None:
    """Terminate a child process, and kill it if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Page:
    """What one rerun showed: buttons and text inputs by widget key, image URLs (data: URIs
    inline), text (headings, Markdown, alerts, code and HTML)."""

    buttons: dict[str, str] = field(default_factory=dict)  # key -> widget id
    inputs: dict[str, str] = field(default_factory=dict)  # text inputs: key -> widget id
    images: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class ProtocolClient:
    """One browser tab, speaking Streamlit's websocket protocol.

    `cookies` is the browser's cookie jar for the site (name -> value). Cookies set on the
    websocket handshake or on an image response (a proxy's sticky-session cookie) are kept
    there and sent on every later request, so pass the same dict to a new client to
    reconnect as the same browser.
    """

    def __init__(
        self,
        base_url: str,
        query_string: str,
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        """`headers`: extra request headers of the websocket handshake (e.g. a proxy's
        X-Forwarded-For)."""
        self.base_url = base_url
        self.query_string = query_string
        self.cookies = {} if cookies is None else cookies
        self.headers = headers or {}
        self.socket = None
        self.fragments: dict[str, str] = {}  # widget id -> fragment id, as the browser keeps

    async def __aenter__(self) -> ProtocolClient:  # noqa: PYI034
        import websockets

        url = self.base_url.replace("http://", "ws://") + "/_stcore/stream"
        scheme, host = urllib.parse.urlsplit(self.base_url)[:2]
        self.socket = await websockets.connect(
            url,
            origin=f"{scheme}://{host}",  # as a browser sends it (the server checks it)
            subprotocols=["streamlit"],
            max_size=None,
            additional_headers={**self.headers, **self._cookie_header()},
        )
        self._remember(self.socket.response.headers.get_all("Set-Cookie"))
        return self

    async def __aexit__(self, *exc) -> None:
        await self.socket.close()

    async def send(self, click: str | None = None, text: dict[str, str] | None = None) -> None:
        """Request a rerun, with the button of widget id `click` pressed, or the text inputs
        `text` (widget id -> value) filled in; a button inside a fragment reruns only that
        fragment, as in the browser."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        message.rerun_script.query_string = self.query_string
        message.rerun_script.page_script_hash = ""
        if click is not None:
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id = click
            widget.trigger_value = True
            message.rerun_script.fragment_id = self.fragments.get(click, "")
        for widget_id, value in (text or {}).items():
            widget = message.rerun_script.widget_states.widgets.add()
            widget.id = widget_id
            widget.string_value = value
        await self.socket.send(message.SerializeToString())

    async def read_page(self) -> Page:
        """Collect the elements of one complete rerun (a run cut short by the next rerun
        request, as after a double click, is discarded)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        finished = ForwardMsg.ScriptFinishedStatus
        page = Page()
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self.socket.recv())
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                self._add_element(page, message.delta)
            elif kind == "script_finished":
                if message.script_finished in (
                    finished.FINISHED_SUCCESSFULLY,
                    finished.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
                ):
                    return page
                if message.script_finished == finished.FINISHED_EARLY_FOR_RERUN:
                    page = Page()

    def _add_element(self, page: Page, delta) -> None:
        """Put one new element of a rerun's `delta` on `page`: a button or text input by its
        key, an image's URL, a text; a button's fragment is remembered, as a click on it
        reruns only that fragment."""
        element = delta.new_element
        which = element.WhichOneof("type")
        if which == "button":
            page.buttons[_widget_key(element.button.id)] = element.button.id
            self.fragments[element.button.id] = delta.fragment_id
        elif which == "text_input":
            page.inputs[_widget_key(element.text_input.id)] = element.text_input.id
        elif which == "imgs":
            page.images.extend(image.url for image in element.imgs.imgs)
        elif which == "markdown":
            page.texts.append(element.markdown.body)
        elif which == "html":
            page.texts.append(element.html.body)
            page.images.extend(re.findall(r'<img [^>]*src="([^"]+)"', element.html.body))
        elif which == "code":
            page.texts.append(element.code.code_text)
        elif which == "alert":
            page.texts.append(element.alert.body)
        elif which == "heading":
            page.texts.append(element.heading.body)

    async def ask(self, click: str | None = None, text: dict[str, str] | None = None) -> Page:
        """`send`, then `read_page`."""
        await self.send(click, text)
        return await self.read_page()

    def fetch(self, url: str) -> int:
        """GET a media URL as the browser would (with its cookies); returns the byte count."""
        request = urllib.request.Request(self.base_url + url, headers=self._cookie_header())
        with urllib.request.urlopen(request, timeout=30) as response:
            self._remember(response.headers.get_all("Set-Cookie") or [])
            return len(response.read())

    def _cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    def _remember(self, set_cookie_headers: list[str]) -> None:
        for header in set_cookie_headers:
            parsed = SimpleCookie()
            parsed.load(header)
            self.cookies.update({name: morsel.value for name, morsel in parsed.items()})


def _widget_key(widget_id: str) -> str:
    """`$$ID-<hash>-<user key>` -> `<user key>` (keys may contain '-')."""
    return widget_id.split("-", 2)[2] if widget_id.startswith("$$ID-") else widget_id
