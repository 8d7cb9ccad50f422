"""Takes the README screenshot (docs/images/web.png) of the chat page in headless Chromium.

    .build/browser-venv/bin/python Tests/browser/screenshot.py [output.png]

Starts its own chatd (development mode), has two users talk, and saves what one of them sees.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time


from support import ROOT, ChatPage, ChatServer, new_driver, wait_until


def main() -> None:
    output = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "web.png"
    output.parent.mkdir(parents=True, exist_ok=True)
    server = ChatServer(pathlib.Path(tempfile.mkdtemp()) / "chatd.log")
    server.start()
    pages = []
    try:
        alice = ChatPage(new_driver(1100, 800), server.url).open().sign_in("alice")
        bob = ChatPage(new_driver(1100, 800), server.url).open().sign_in("bob")
        pages += [alice, bob]
        for page in (alice, bob):
            page.join("general").join("lobby")
        conversation = [
            (bob, "Morning! Is the Kafka upgrade still planned for today?"),
            (alice, "Yes: brokers roll one at a time at 14:00. Gateways stay up and resume by cursor."),
            (bob, "Nice. Anything clients need to do?"),
            (alice, "Nothing. The page shows \u201creconnecting\u201d for a moment and catches up without losing a message."),
        ]
        for page, text in conversation:
            page.send(text)
            wait_until(lambda: text in alice.texts() and text in bob.texts(), message=text)
        bob.send("Typed <b>tags</b> stay text.")
        alice.wait_count(5)
        server.publish("general", "carol", ["Lunch at 12:30?", "I booked the usual place."])
        time.sleep(3.5)  # the server passes on one typing signal per user every few seconds
        bob.find("composer").send_keys("Sounds good, I")  # alice sees "bob is typing…"
        wait_until(lambda: alice.find("typing").text != "" or alice.js("return document.body.dataset.presence") == "unsupported",
                   timeout=5, message="typing indicator")
        alice.find("composer").click()
        alice.find("composer").send_keys("See you th")
        time.sleep(0.5)
        alice.driver.save_screenshot(str(output))
        print(f"saved {output}")
    finally:
        for page in pages:
            page.driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
