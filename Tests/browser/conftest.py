"""Fixtures of the browser tests: chatd servers and headless Chromium sessions."""

from __future__ import annotations

import pytest

from support import ChatPage, ChatServer, new_driver


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One chatd shared by the tests that do not restart it (each uses rooms of its own)."""
    chatd = ChatServer(tmp_path_factory.mktemp("chatd") / "chatd.log")
    chatd.start()
    yield chatd
    chatd.stop()


@pytest.fixture
def restartable_server(tmp_path_factory):
    """A chatd of the test's own, which it may stop and start again on the same port."""
    chatd = ChatServer(tmp_path_factory.mktemp("chatd-restart") / "chatd.log")
    chatd.start()
    yield chatd
    chatd.stop()


@pytest.fixture(scope="session")
def driver_pool():
    """Idle Chromium sessions, reused by the tests (starting Chromium costs seconds)."""
    idle = []
    yield idle
    for driver in idle:
        driver.quit()


@pytest.fixture
def browsers(request, driver_pool):
    """Opens signed-in browser sessions: `page = browsers(server, "alice")`. Each starts with
    empty storage for that server's origin. On a failure, the sessions' console output and the
    servers' log tails are printed."""
    opened: list[tuple[ChatPage, ChatServer]] = []

    def open_page(chat_server: ChatServer, name: str | None = None, width: int = 1100, height: int = 760) -> ChatPage:
        driver = driver_pool.pop() if driver_pool else new_driver(width, height)
        page = ChatPage(driver, chat_server.url)
        opened.append((page, chat_server))
        driver.set_window_size(width, height)
        if width < 500:  # below Chromium's smallest window: emulate the phone's viewport
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
        # A same-origin page that is not the chat page, to forget a previous test's sign-in.
        driver.get(f"{chat_server.url}/healthz")
        driver.execute_script("sessionStorage.clear(); localStorage.clear();")
        page.console()  # drop messages of earlier tests
        page.open()
        if name:
            page.sign_in(name)
        return page

    yield open_page

    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    servers = []
    for page, chat_server in opened:
        if chat_server not in servers:
            servers.append(chat_server)
        if failed:
            print(f"\n---- browser console ({page.driver.current_url}):")
            print("\n".join(page.console()) or "(empty)")
        try:
            page.driver.get("about:blank")  # closes the page's WebSocket
            page.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
            driver_pool.append(page.driver)
        except Exception:
            page.driver.quit()  # the session is broken: do not reuse it
    if failed:
        for chat_server in servers:
            print(f"\n---- chatd log tail (port {chat_server.port}):\n{chat_server.log_tail()}")
