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


@pytest.fixture
def browsers(request):
    """Opens signed-in browser sessions: `page = browsers(server, "alice")`. On a failure,
    their console output and the servers' log tails are printed."""
    opened: list[tuple[ChatPage, ChatServer]] = []

    def open_page(chat_server: ChatServer, name: str | None = None, width: int = 1100, height: int = 760) -> ChatPage:
        page = ChatPage(new_driver(width, height), chat_server.url)
        opened.append((page, chat_server))
        page.open()
        if name:
            page.sign_in(name)
        return page

    yield open_page

    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    servers = []
    for page, chat_server in opened:
        if failed:
            print(f"\n---- browser console ({page.driver.current_url}):")
            print("\n".join(page.console()) or "(empty)")
        if chat_server not in servers:
            servers.append(chat_server)
        page.driver.quit()
    if failed:
        for chat_server in servers:
            print(f"\n---- chatd log tail (port {chat_server.port}):\n{chat_server.log_tail()}")
