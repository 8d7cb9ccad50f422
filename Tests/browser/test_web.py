"""The web chat page in headless Chromium against a real chatd (embedded Kafka cluster)."""

from __future__ import annotations

import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support import DropProxy, offsets, unique, wait_until


def test_page_is_served_with_content_types_and_caching(server):
    import urllib.request

    with urllib.request.urlopen(f"{server.url}/") as response:
        html = response.read().decode()
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-cache"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "__VERSION__" not in html
    script = html.split('<script type="module" src="', 1)[1].split('"', 1)[0]
    with urllib.request.urlopen(f"{server.url}{script}") as response:
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert "immutable" in response.headers["Cache-Control"]
        etag = response.headers["ETag"]
    request = urllib.request.Request(f"{server.url}{script}", headers={"If-None-Match": etag})
    try:
        urllib.request.urlopen(request)
        raise AssertionError("expected 304 Not Modified")
    except urllib.error.HTTPError as error:
        assert error.code == 304


def test_two_sessions_exchange_messages_in_order(server, browsers):
    room = unique("order")
    alice = browsers(server, "alice").join(room)
    bob = browsers(server, "bob").join(room)

    expected = []
    for i in range(3):
        for page, name in ((alice, "alice"), (bob, "bob")):
            page.send(f"{name} says {i}")
            expected.append(f"{name} says {i}")
            alice.wait_texts(expected)
            bob.wait_texts(expected)

    # Both type at once: the room's order is the server's, the same on both pages.
    for i in range(5):
        alice.send(f"alice burst {i}")
        bob.send(f"bob burst {i}")
    seen_by_alice = alice.wait_count(16)
    wait_until(lambda: bob.messages() == alice.messages(), message="both pages showing the same messages")
    texts = [text for text, _, _ in seen_by_alice]
    assert len(texts) == 16 and texts[:6] == expected
    assert [t for t in texts if t.startswith("alice burst")] == [f"alice burst {i}" for i in range(5)]
    assert [t for t in texts if t.startswith("bob burst")] == [f"bob burst {i}" for i in range(5)]
    cursors = offsets(seen_by_alice)
    assert cursors == sorted(set(cursors)), "cursors must strictly increase down the page"
    assert all(sender == text.split()[0] for text, _, sender in seen_by_alice)
    assert not alice.find_all("pending-message") and not bob.find_all("pending-message")


def test_reload_resumes_without_losing_or_repeating_messages(server, browsers):
    room = unique("reload")
    alice = browsers(server, "alice").join(room)
    bob = browsers(server, "bob").join(room)
    for text in ("one", "two", "three"):
        alice.send(text)
    before = bob.wait_texts(["one", "two", "three"])

    # A plain reload shows the same messages once each.
    bob.driver.refresh()
    bob.wait_state("connected")
    bob.wait_joined(room)
    time.sleep(0.5)
    assert bob.messages() == before

    # Away from the page while the room moves on: new messages, an edit and a delete.
    bob.driver.get("about:blank")
    alice.send("four")
    alice.send("five")
    alice.wait_texts(["one", "two", "three", "four", "five"])
    alice.click_message_button("two", "Edit")
    field = alice.find("edit-field")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("two (edited)", Keys.ENTER)
    delete = alice.click_message_button("three", "Delete")
    delete.click()  # the second click confirms
    expected = ["one", "two (edited)", "four", "five"]
    alice.wait_texts(expected)

    bob.open()  # the same tab: its sessionStorage holds the rooms, cursors and messages
    bob.wait_state("connected")
    bob.wait_texts(expected)
    time.sleep(0.7)
    assert bob.messages() == alice.messages()
    assert bob.find_all("history-break") == []


def test_lost_connection_reconnects_and_resumes_by_cursor(server, browsers):
    room = unique("resume")
    proxy = DropProxy(server)  # bob reaches the server through it
    try:
        alice = browsers(server, "alice").join(room)
        bob = browsers(proxy, "bob").join(room)
        alice.send("one")
        bob.wait_texts(["one"])

        proxy.cut()  # the network goes: the server stays up, same log
        bob.wait_state("reconnecting", timeout=15)
        alice.send("two")
        alice.send("three")
        alice.click_message_button("one", "Edit")
        field = alice.find("edit-field")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys("one (edited)", Keys.ENTER)
        expected = ["one (edited)", "two", "three"]
        alice.wait_texts(expected)
        assert bob.texts() == ["one"] and bob.state() == "reconnecting"

        proxy.restore()  # rejoin with since: exactly the missed events, in order
        bob.wait_state("connected")
        bob.wait_texts(expected)
        time.sleep(0.5)
        assert bob.messages() == alice.messages()
        assert bob.find_all("history-break") == []
    finally:
        proxy.close()


def test_server_restart_shows_reconnecting_then_recovers(restartable_server, browsers):
    room = unique("restart")
    alice = browsers(restartable_server, "alice").join(room)
    bob = browsers(restartable_server, "bob").join(room)
    alice.send("before restart")
    bob.wait_texts(["before restart"])

    restartable_server.stop()
    alice.wait_state("reconnecting", timeout=15)
    bob.wait_state("reconnecting", timeout=15)
    bob.send("queued while offline")  # kept by the page until it can be sent
    wait_until(lambda: [e.text for e in bob.find_all("pending-message")] == ["queued while offline"],
               message="the unsent message shown as pending")

    # A new embedded cluster: a new log epoch (joined answers recovered:false) and a new
    # development-token key (the page fetches a new token).
    restartable_server.start()
    alice.wait_state("connected", timeout=30)
    bob.wait_state("connected", timeout=30)
    alice.wait_texts(["before restart", "queued while offline"])
    alice.send("after restart")
    expected = ["before restart", "queued while offline", "after restart"]
    bob.wait_texts(expected)
    alice.wait_texts(expected)
    assert len(bob.find_all("history-break")) == 1
    assert not bob.find_all("pending-message")
    time.sleep(0.5)
    assert bob.texts() == expected and alice.texts() == expected


def test_html_in_messages_is_shown_as_text(server, browsers):
    room = unique("html")
    alice = browsers(server, "alice").join(room)
    bob = browsers(server, "bob").join(room)
    payloads = [
        '<img src="/nope.png" onerror="window.__injected = 1">',
        "<script>window.__injected = 2</script>",
        "<b>bold</b> &amp; &lt;i&gt;",
        '"><svg onload="window.__injected = 3"></svg>',
    ]
    for payload in payloads:
        alice.send(payload)
    for page in (alice, bob):
        page.wait_texts(payloads)
        assert page.js("return window.__injected") is None
        assert page.js("return document.querySelectorAll('#room-view img, #room-view script, #room-view svg, #room-view b').length") == 0
    bob.driver.refresh()  # restored from sessionStorage: still text
    bob.wait_texts(payloads)
    assert bob.js("return document.querySelectorAll('#room-view img, #room-view script, #room-view svg, #room-view b').length") == 0
    assert bob.js("return window.__injected") is None


def test_only_own_messages_can_be_edited_and_deleted(server, browsers):
    room = unique("edit")
    alice = browsers(server, "alice").join(room)
    bob = browsers(server, "bob").join(room)
    alice.send("hello wrold")
    bob.wait_texts(["hello wrold"])
    assert bob.message_item("hello wrold").find_elements(By.TAG_NAME, "button") == []

    # Keyboard: Arrow Up in the empty composer edits the last own message.
    alice.find("composer").send_keys(Keys.ARROW_UP)
    field = alice.find("edit-field")
    assert field.get_attribute("value") == "hello wrold"
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("hello world", Keys.ENTER)
    bob.wait_texts(["hello world"])
    wait_until(lambda: "(edited)" in bob.message_item("hello world").text, message="the edited mark")

    delete = alice.click_message_button("hello world", "Delete")
    assert delete.text == "Confirm delete"
    delete.click()
    bob.wait_texts([])
    alice.wait_texts([])


def test_load_older_pages_back_through_history(server, browsers):
    room = unique("history")
    bodies = [f"seed {i:03}" for i in range(70)]
    server.publish(room, "seeder", bodies)
    bob = browsers(server, "bob").join(room)
    shown = bob.wait_texts(bodies[-50:])
    button = bob.find("load-older")
    assert button.is_displayed()
    button.click()
    shown = bob.wait_texts(bodies)
    assert offsets(shown) == sorted(set(offsets(shown)))
    wait_until(lambda: not bob.find("load-older").is_displayed(), message="no older history left")


def test_unread_badges_count_messages_in_other_rooms(server, browsers):
    quiet, busy = unique("quiet"), unique("busy")
    alice = browsers(server, "alice").join(busy)
    bob = browsers(server, "bob").join(busy).join(quiet)  # shows `quiet`
    alice.send("first")
    alice.send("second")

    def badge():
        return bob.js("const b = document.querySelector(`[data-room='${arguments[0]}'] [data-testid=unread]`);"
                      "return b ? b.textContent : null;", busy)

    wait_until(lambda: badge() == "2", message="unread badge 2")
    bob.select(busy)
    bob.wait_texts(["first", "second"])
    assert badge() is None


def test_typing_and_presence_when_the_server_has_them(server, browsers):
    room = unique("presence")
    alice = browsers(server, "alice").join(room)
    bob = browsers(server, "bob").join(room)
    # Ask the server directly (a raw WebSocket from the page's origin) whether it has presence.
    supported = alice.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const token = JSON.parse(sessionStorage.getItem('chat.auth')).token;
        const ws = new WebSocket(`ws://${location.host}/v1/ws?token=${encodeURIComponent(token)}`);
        ws.onopen = () => ws.send(JSON.stringify({op: 'join', room: arguments[0], id: 1}));
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          if (f.id === 1) ws.send(JSON.stringify({op: 'presence', room: arguments[0], id: 2}));
          if (f.id === 2) { ws.close(); done(f.op === 'presence'); }
        };
        ws.onerror = () => done(null);
    """, room)
    assert supported is not None, "could not reach the server from the page"
    if supported:
        bob.find("composer").send_keys("typing something")
        wait_until(lambda: alice.find("typing").text == "bob is typing…", message="alice sees bob typing")
        online = "return Array.from(document.querySelectorAll('[data-testid=online-list] li'), (e) => e.textContent)"
        wait_until(lambda: {"alice", "bob"} <= set(alice.js(online)), message="alice and bob online")
        assert alice.js("return document.body.dataset.presence") == "supported"
    else:
        # An older server answers bad_request: the page says so and keeps working.
        wait_until(lambda: alice.js("return document.body.dataset.presence") == "unsupported", message="presence marked unsupported")
        bob.find("composer").send_keys("typing something")
        time.sleep(0.5)
        assert alice.find("typing").text == ""
        bob.find("composer").send_keys(Keys.ENTER)
        alice.wait_texts(["typing something"])


def test_keyboard_only_on_a_phone_sized_screen(server, browsers):
    room = unique("phone")
    page = browsers(server, None, width=390, height=844)
    actions = ActionChains(page.driver)
    page.find("login-name").click()
    actions.send_keys("carol", Keys.ENTER).perform()  # Enter submits the sign-in form
    page.wait_state("connected")
    page.find("room-name").click()
    ActionChains(page.driver).send_keys(room, Keys.ENTER).perform()
    page.wait_joined(room)
    # Joining moves the focus to the composer: type straight away.
    long_word = "x" * 300
    ActionChains(page.driver).send_keys("hi from a phone", Keys.ENTER).perform()
    ActionChains(page.driver).send_keys(long_word, Keys.ENTER).perform()
    page.wait_texts(["hi from a phone", long_word])
    assert page.js("return window.innerWidth") == 390
    assert page.js("return document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    bottom = page.js("return document.querySelector('[data-testid=composer]').getBoundingClientRect().bottom")
    assert bottom <= 844, "the composer is on screen"


def test_page_renews_its_token_before_it_expires(server, browsers):
    """A 4-second development token: the page fetches a fresh one and sends `auth` before `exp`,
    so the server never closes the session with 4001 and the page never reconnects."""
    room = unique("renew")
    page = browsers(server)
    # Count WebSockets the page opens, from before its scripts run.
    page.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__sockets = 0;
        const Native = window.WebSocket;
        window.WebSocket = class extends Native {
            constructor(...args) { super(...args); window.__sockets += 1; }
        };
    """})
    short = server._post("/v1/dev/token", {"user": "renewer", "lifetime": 4})["token"]
    page.js("sessionStorage.setItem('chat.auth', JSON.stringify({mode: 'dev', token: arguments[0], user: 'renewer'}))", short)
    page.driver.refresh()
    page.wait_state("connected")
    page.join(room)
    time.sleep(9)  # more than twice the first token's lifetime
    assert page.js("return window.__sockets") == 1, "the page reconnected: its session was closed"
    assert page.js("return JSON.parse(sessionStorage.getItem('chat.auth')).token") != short
    page.send("still here")
    page.wait_texts(["still here"])
    assert page.state() == "connected"
