"""Rooms with members on the web page: private rooms, invitations, moderation, DMs (two or three
browser sessions against one chatd)."""

from __future__ import annotations

import time

from selenium.webdriver.common.by import By

from support import unique, wait_until


def test_private_room_invite_then_the_invited_user_joins(server, browsers):
    room = unique("private")
    alice = browsers(server, "alice").create_room(room, private=True, title="Plans for <b>Friday</b>")
    alice.open_members()
    alice.wait_members({("alice", "owner")})
    kind = alice.find("room-kind")
    assert kind.get_attribute("data-kind") == "private"
    assert "Plans for <b>Friday</b>" in kind.text  # the title is text, not markup
    alice.send("before bob was invited")
    alice.wait_texts(["before bob was invited"])

    alice.moderate("bob", "invite")
    alice.wait_members({("alice", "owner"), ("bob", "member")})

    bob = browsers(server, "bob").join(room)
    bob.wait_texts(["before bob was invited"])  # members read the history
    bob.open_members()
    bob.wait_members({("alice", "owner"), ("bob", "member")})
    assert bob.find_all("moderate-user") == [], "a plain member gets no moderation form"
    assert bob.find_all("member-kick") == []
    bob.send("hello from bob")
    alice.wait_texts(["before bob was invited", "hello from bob"])


def test_a_non_member_is_told_they_are_not_a_member(server, browsers):
    room = unique("closed")
    alice = browsers(server, "alice").create_room(room, private=True)
    alice.send("members only")
    alice.wait_texts(["members only"])

    carol = browsers(server, "carol")
    carol.join(room, wait=False)
    text = carol.wait_notice("not a member")
    assert room in text
    wait_until(lambda: room not in carol.room_names(), message="the refused room dropped from the list")
    assert carol.texts() == []


def test_a_moderator_deletes_another_users_message(server, browsers):
    room = unique("moderated")
    alice = browsers(server, "alice").create_room(room, private=True)
    alice.moderate("bob", "invite")
    alice.moderate("carol", "invite")
    alice.wait_members({("alice", "owner"), ("bob", "member"), ("carol", "member")})
    # The owner makes carol a moderator.
    alice.set_member_role("carol", "moderator")
    alice.wait_members({("alice", "owner"), ("bob", "member"), ("carol", "moderator")})

    bob = browsers(server, "bob").join(room)
    carol = browsers(server, "carol").join(room)
    carol.open_members()
    carol.wait_members({("alice", "owner"), ("bob", "member"), ("carol", "moderator")})
    bob.send("spam spam spam")
    carol.send("please keep it on topic")
    expected = ["spam spam spam", "please keep it on topic"]
    for page in (alice, bob, carol):
        page.wait_texts(expected)
    # A plain member cannot delete others' messages: no button.
    assert bob.message_item("please keep it on topic").find_elements(By.TAG_NAME, "button") == []

    delete = carol.click_message_button("spam spam spam", "Delete")
    delete.click()  # the second click confirms
    for page in (alice, bob, carol):
        page.wait_texts(["please keep it on topic"])


def test_kick_ends_the_kicked_users_room(server, browsers):
    room = unique("kick")
    alice = browsers(server, "alice").create_room(room, private=True)
    alice.moderate("bob", "invite")
    bob = browsers(server, "bob").join(room)
    alice.send("welcome")
    bob.wait_texts(["welcome"])
    assert bob.find("composer").is_enabled()

    alice.click_member_control("bob", "member-kick")
    removed = wait_until(lambda: bob.find("room-removed").is_displayed() and bob.find("room-removed"),
                         message="bob's page saying he was removed")
    assert "removed" in removed.text and "alice" in removed.text
    assert removed.get_attribute("data-change") == "removed"
    assert not bob.find("composer").is_enabled()
    wait_until(lambda: bob.js("return document.querySelector(`[data-testid=room][data-room='${arguments[0]}']`).dataset.joined", room)
               == "false", message="bob's room no longer joined")
    alice.wait_members({("alice", "owner")})

    alice.send("after the kick")
    alice.wait_texts(["welcome", "after the kick"])
    time.sleep(1)
    assert bob.texts() == ["welcome"], "a kicked member receives nothing more"

    # Joining again is refused: he is no longer a member of the private room.
    bob.join(room, wait=False)
    bob.wait_notice("not a member")


def test_a_dm_opened_from_the_member_list(server, browsers):
    room = unique("meet")
    alice = browsers(server, "alice").create_room(room, private=True)
    alice.moderate("bob", "invite")
    alice.wait_members({("alice", "owner"), ("bob", "member")})
    bob = browsers(server, "bob").join(room)
    bob.open_members()
    bob.wait_members({("alice", "owner"), ("bob", "member")})

    bob.click_member_control("alice", "member-dm")
    direct = wait_until(lambda: (name := bob.current_room()) and name.startswith("dm.") and name, message="bob's DM room shown")
    bob.wait_joined(direct)
    assert bob.find("room-title").text == "@alice"
    label = bob.driver.find_element(By.CSS_SELECTOR, f"[data-testid=room][data-room='{direct}'] .room-label")
    assert label.text == "@alice"
    bob.send("hi alice, just us")

    # Alice opens the same pair's room from her list: one room per pair, whoever opens it.
    alice.click_member_control("bob", "member-dm")
    wait_until(lambda: alice.current_room() == direct, message="alice's DM room is bob's")
    alice.wait_joined(direct)
    alice.wait_texts(["hi alice, just us"])
    assert alice.find("room-title").text == "@bob"
    alice.open_members()
    wait_until(lambda: {user for user, _ in alice.members()} == {"alice", "bob"}, message="the DM's two members")
    assert alice.find_all("moderate-user") == [], "nobody can be added to a DM"
    assert alice.find("room-kind").get_attribute("data-kind") == "dm"
    alice.send("hi bob")
    bob.wait_texts(["hi alice, just us", "hi bob"])

    # A third user cannot read the pair's room.
    carol = browsers(server, "carol")
    carol.join(direct, wait=False)
    carol.wait_notice("not a member")


def test_user_names_in_the_member_list_are_text(server, browsers):
    room = unique("names")
    hostile = '<img src=x onerror="window.__injected=1">'
    alice = browsers(server, "alice").create_room(room, private=True)
    alice.moderate(hostile, "invite")
    alice.wait_members({("alice", "owner"), (hostile, "member")})
    assert alice.js("return window.__injected") is None
    assert alice.js("return document.querySelectorAll('#members-body img').length") == 0
    names = alice.js("return Array.from(document.querySelectorAll('.member-name'), (e) => e.textContent)")
    assert hostile in names


def test_a_muted_members_sends_are_refused(server, browsers):
    room = unique("mute")
    alice = browsers(server, "alice").create_room(room, private=True)
    alice.moderate("bob", "invite")
    bob = browsers(server, "bob").join(room)
    bob.send("before the mute")
    alice.wait_texts(["before the mute"])

    alice.click_member_control("bob", "member-mute")  # the default duration: an hour
    time.sleep(1)  # the mute is in the room's log before bob's next send
    bob.send("while muted")
    wait_until(lambda: any("not sent" in e.find_element(By.XPATH, "./ancestor::li").text and "Not allowed" in
                           e.find_element(By.XPATH, "./ancestor::li").text for e in bob.find_all("pending-message")),
               message="bob's send refused as forbidden")
    time.sleep(0.5)
    assert alice.texts() == ["before the mute"]


def test_a_ban_from_a_public_room_ends_the_visitors_room(server, browsers):
    room = unique("ban")
    alice = browsers(server, "alice").create_room(room, private=False)
    bob = browsers(server, "bob").join(room)  # a visitor: public rooms admit anyone
    bob.send("visitor here")
    alice.wait_texts(["visitor here"])
    assert alice.message_item("visitor here").find_elements(By.XPATH, ".//button[normalize-space()='Delete']"), \
        "the owner may delete a visitor's message"

    alice.moderate("bob", "ban")
    removed = wait_until(lambda: bob.find("room-removed").is_displayed() and bob.find("room-removed"),
                         message="bob's page saying he was banned")
    assert removed.get_attribute("data-change") == "banned" and "until" in removed.text
    assert not bob.find("composer").is_enabled()
    bob.join(room, wait=False)
    bob.wait_notice("Not allowed")
