"""Helpers of the browser tests: a chatd process in development mode, headless Chromium, and
a page object that drives the web chat page through its data-testid hooks (docs/web.md)."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHATD = pathlib.Path(os.environ.get("CHATD", ROOT / ".build" / "debug" / "chatd"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unique(prefix: str) -> str:
    """A room name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_until(condition, timeout: float = 20.0, interval: float = 0.05, message: str = "condition"):
    """Polls `condition` until it returns a truthy value, and returns that value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = condition()
        except StaleElementReferenceException:
            # The page re-rendered between finding an element and reading it: not yet, look again.
            last = None
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}; last value: {last!r}")
        time.sleep(interval)


class ChatServer:
    """`chatd` with its embedded Kafka cluster (development mode: dev tokens), on a fixed port
    so that it can be stopped and started again where the pages expect it."""

    def __init__(self, log_path: pathlib.Path, port: int | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        assert CHATD.exists(), f"{CHATD} does not exist: build it with `swift build --product chatd`"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
        log = open(self.log_path, "ab")
        log.write(f"\n==== chatd start {time.strftime('%H:%M:%S')} ====\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [str(CHATD), "--port", str(self.port), "--host", "127.0.0.1", "--embedded-partitions", "4",
             "--node-id", f"browser-{self.port}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"chatd exited with {self.process.returncode} during start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chatd not ready after {timeout}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful shutdown (SIGTERM: sessions are closed with 1001), then SIGKILL if it hangs."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"chatd did not stop within {timeout}s of SIGTERM")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _post(self, path: str, payload: dict, token: str | None = None) -> dict:
        request = urllib.request.Request(f"{self.url}{path}", data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def token(self, user: str, admin: bool = False) -> str:
        return self._post("/v1/dev/token", {"user": user, "admin": admin})["token"]

    def publish(self, room: str, sender: str, bodies: list[str]) -> list[str]:
        """Publishes messages through the HTTP API (admin token); returns their cursors."""
        token = self.token("seeder", admin=True)
        return [self._post(f"/v1/rooms/{room}/messages", {"cmid": uuid.uuid4().hex, "body": body, "from": sender},
                           token)["cursor"] for body in bodies]


class DropProxy:
    """A TCP proxy in front of chatd that can cut every connection through it and refuse new
    ones for a while: a lost network, while the server (and its log epoch) stays up."""

    def __init__(self, server: ChatServer):
        self.server = server
        self.blocked = False
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        return self.server.log_tail(lines)

    def cut(self) -> None:
        """Refuses new connections and closes the open ones."""
        with self._lock:
            self.blocked = True
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for end in pair:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def restore(self) -> None:
        self.blocked = False

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.blocked:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.server.port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def new_driver(width: int = 1100, height: int = 760) -> webdriver.Chrome:
    """Headless Chromium from Debian, with the matching chromedriver (never a downloaded one)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--disable-extensions", "--no-first-run", "--disable-background-networking",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


MESSAGES_SCRIPT = """
return Array.from(document.querySelectorAll('[data-testid="message"]'),
                  (e) => [e.textContent, e.dataset.cursor, e.dataset.from]);
"""


class ChatPage:
    """One browser session on the chat page."""

    def __init__(self, driver: webdriver.Chrome, base_url: str):
        self.driver = driver
        self.base_url = base_url

    # -- elements

    def find(self, testid: str):
        return self.driver.find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def find_all(self, testid: str):
        return self.driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    # -- actions

    def open(self) -> "ChatPage":
        self.driver.get(f"{self.base_url}/")
        return self

    def sign_in(self, name: str) -> "ChatPage":
        wait_until(lambda: self.find_all("login-name") and self.find("login-name").is_displayed(), message="the sign-in form")
        self.find("login-name").send_keys(name)
        self.find("login-submit").click()
        self.wait_state("connected")
        return self

    def join(self, room: str, wait: bool = True) -> "ChatPage":
        field = self.find("room-name")
        field.clear()
        field.send_keys(room)
        self.find("room-join").click()
        if wait:
            self.wait_joined(room)
        return self

    def wait_joined(self, room: str, timeout: float = 30.0) -> None:
        wait_until(lambda: self.js(
            "const b = document.querySelector(`[data-testid=room][data-room='${arguments[0]}']`);"
            "return b !== null && b.dataset.joined === 'true';", room),
            timeout=timeout, message=f"room {room} joined")

    def select(self, room: str) -> None:
        self.driver.find_element(By.CSS_SELECTOR, f'[data-testid="room"][data-room="{room}"]').click()

    def send(self, text: str) -> None:
        composer = self.find("composer")
        composer.send_keys(text)
        composer.send_keys(Keys.ENTER)

    # -- reading the page

    def state(self) -> str:
        return self.find("connection-state").text

    def wait_state(self, state: str, timeout: float = 30.0) -> None:
        wait_until(lambda: self.state() == state, timeout=timeout, message=f"connection state {state!r}")

    def messages(self) -> list[list[str]]:
        """[text, cursor, from] of every message element, in page order."""
        return self.js(MESSAGES_SCRIPT)

    def texts(self) -> list[str]:
        return [text for text, _, _ in self.messages()]

    def wait_texts(self, expected: list[str], timeout: float = 30.0) -> list[list[str]]:
        try:
            wait_until(lambda: self.texts() == expected, timeout=timeout, message=f"messages {expected!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}; the page shows {self.texts()!r}, state {self.state()!r}") from None
        return self.messages()

    def wait_count(self, count: int, timeout: float = 30.0) -> list[list[str]]:
        wait_until(lambda: len(self.messages()) >= count, timeout=timeout, message=f"{count} messages")
        return self.messages()

    def message_item(self, text: str):
        """The list item around the message whose body is `text`."""
        item = self.js("""
            const body = Array.from(document.querySelectorAll('[data-testid="message"]'))
                .find((e) => e.textContent === arguments[0]);
            return body ? body.closest('li') : null;""", text)
        assert item is not None, f"no message {text!r} on the page"
        return item

    def click_message_button(self, text: str, label: str):
        """Clicks a button (Edit, Delete...) of the message whose body is `text`; returns it."""
        for _ in range(5):
            try:
                button = self.message_item(text).find_element(By.XPATH, f".//button[normalize-space()='{label}']")
                button.click()
                return button
            except StaleElementReferenceException:  # the item was redrawn (an event arrived)
                time.sleep(0.1)
        raise AssertionError(f"could not click {label} on {text!r}")

    # -- rooms and members

    def create_room(self, room: str, private: bool = False, title: str | None = None) -> "ChatPage":
        """Creates a room with the sidebar's form (the page joins it) and waits until joined."""
        self.js("document.getElementById('create').open = true")
        self.find("create-name").send_keys(room)
        if title:
            self.find("create-title").send_keys(title)
        self.find("create-private" if private else "create-public").click()
        self.find("create-submit").click()
        self.wait_joined(room)
        return self

    def current_room(self) -> str | None:
        return self.js("const b = document.querySelector('[data-testid=room][aria-current=true]');"
                       "return b ? b.dataset.room : null;")

    def room_names(self) -> list[str]:
        return self.js("return Array.from(document.querySelectorAll('[data-testid=room]'), (b) => b.dataset.room)")

    def open_members(self) -> None:
        self.js("document.getElementById('members').open = true")

    def members(self) -> list[tuple[str, str]]:
        """(user, role) of each member listed in the members panel of the room shown."""
        return [tuple(pair) for pair in self.js(
            "return Array.from(document.querySelectorAll('[data-testid=member]'), (e) => [e.dataset.user, e.dataset.role])")]

    def wait_members(self, expected: set[tuple[str, str]], timeout: float = 20.0) -> None:
        try:
            wait_until(lambda: set(self.members()) == expected, timeout=timeout, message=f"members {expected!r}")
        except AssertionError as error:
            raise AssertionError(f"{error}; the panel shows {self.members()!r}, notice {self.notice()!r}") from None

    def member_control(self, user: str, testid: str):
        """A control (member-kick, member-dm, member-role-select...) on `user`'s row of the members panel."""
        self.open_members()
        return wait_until(lambda: self.js(
            "const row = Array.from(document.querySelectorAll('[data-testid=member]')).find((e) => e.dataset.user === arguments[0]);"
            "return row ? row.querySelector(`[data-testid=${arguments[1]}]`) : null;", user, testid),
            message=f"{testid} of {user}")

    def click_member_control(self, user: str, testid: str):
        """Clicks a button of `user`'s row in the members panel (again if a member event redrew it)."""
        for _ in range(5):
            try:
                button = self.member_control(user, testid)
                button.click()
                return button
            except StaleElementReferenceException:
                time.sleep(0.1)
        raise AssertionError(f"could not click {testid} of {user}")

    def set_member_role(self, user: str, role: str) -> None:
        """Picks `role` in `user`'s role select (owners)."""
        for _ in range(5):
            try:
                Select(self.member_control(user, "member-role-select")).select_by_value(role)
                return
            except StaleElementReferenceException:
                time.sleep(0.1)
        raise AssertionError(f"could not set the role of {user}")

    def moderate(self, user: str, action: str = "invite") -> None:
        """Invite, ban or unban `user` with the members panel's form (owners and moderators)."""
        self.open_members()
        field = wait_until(lambda: self.find_all("moderate-user") and self.find("moderate-user"), message="the moderation form")
        field.clear()
        field.send_keys(user)
        self.find(f"moderate-{action}").click()

    def notice(self) -> str:
        return self.find("notice").text

    def wait_notice(self, part: str, timeout: float = 20.0) -> str:
        return wait_until(lambda: part in self.notice() and self.notice(), timeout=timeout, message=f"a notice with {part!r}")

    def console(self) -> list[str]:
        try:
            return [f"{entry['level']} {entry['message']}" for entry in self.driver.get_log("browser")]
        except Exception:  # the session may be gone
            return []


def offsets(messages: list[list[str]]) -> list[int]:
    return [int(cursor.rsplit(".", 1)[1]) for _, cursor, _ in messages]
