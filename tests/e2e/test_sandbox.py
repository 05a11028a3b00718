"""The sandbox: ``selfie-bot`` without a token starts the real bot against the emulator.

These tests run the real command as a subprocess and talk to its page's HTTP API as the
page does (the browser test, test_sandbox_browser.py, clicks on the page itself).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image

from bot.campaign.coach import Focus, Hint, focus, hint, measures_of_photo
from bot.config import CoachSettings
from bot.photos.pipeline import ImageOptions, process_image
from bot.photos.refusals import TooSmall
from bot.sandbox import demo
from bot.sandbox.samples import DRAWING, SAMPLES, sample_jpeg, write_samples
from tests.support import ROOT
from tests.support.sandbox import SandboxProcess, get, post, wait_for_button


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("sandbox")
    process = SandboxProcess(folder, "sandbox", "--port", "0")
    url = process.wait_ready()
    try:
        yield url
    finally:
        assert process.stop() == 0, process.log
        assert demo.TOKEN.split(":")[1] not in process.log


# -- the bare command ----------------------------------------------------------------------


def test_bare_command_without_configuration_starts_the_sandbox(tmp_path: Path) -> None:
    started = time.monotonic()
    process = SandboxProcess(tmp_path)
    try:
        url = process.wait_ready(30)
        assert time.monotonic() - started < 30
        page = get(url + "/")
        assert "📱 Apprenti·e" in page and "/sandbox/static/app.js" in page
        assert "function richText" in get(url + "/sandbox/static/app.js")
        view = get(url + "/sandbox/api/view")
        assert view["ready"] is True
        assert [p["name"] for p in view["apprentices"]] == ["Léa"]
        assert view["channel"]["username"] == "fiersdetreapprentis"
    finally:
        code = process.stop()
    explanation = [line for line in process.lines if "sandbox" in line.lower()]
    assert explanation[0].startswith("No Telegram bot token configured (no config.toml)")
    assert process.lines[0] == explanation[0], process.log  # said in one line, first
    assert explanation[1].startswith("Sandbox ready: open http://127.0.0.1:")
    assert code == 0, process.log
    # The demo campaign has an end date: its first lines are not a warning about one.
    assert "campaign.ends is not set" not in process.log
    assert (tmp_path / "sandbox-data" / demo.DATABASE_FILE).is_file()
    assert {p.name for p in (tmp_path / "sandbox-data" / "samples").iterdir()} == {
        s.filename for s in SAMPLES
    }


def test_a_taken_default_port_is_said_in_the_ready_line(tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        holder = stack.enter_context(socket.socket())
        # As servers do, so that connections of an earlier sandbox in TIME_WAIT do not count.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):  # taken already: the sandbox moves all the same
            holder.bind(("127.0.0.1", demo.DEFAULT_PORT))
            holder.listen()
        process = SandboxProcess(tmp_path)
        try:
            url = process.wait_ready(30)
        finally:
            process.stop()
    assert not url.endswith(f":{demo.DEFAULT_PORT}")
    [ready] = [line for line in process.lines if line.startswith("Sandbox ready")]
    assert f"(port {demo.DEFAULT_PORT} was taken)" in ready and url in ready


def test_bare_command_with_an_empty_token_uses_that_campaign(tmp_path: Path) -> None:
    config = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = config.replace('name = "Fiers d\'être apprentis"', 'name = "Campagne test"', 1)
    config = config.replace('channel = "@fiersdetreapprentis"', 'channel = "@campagne_test"')
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    process = SandboxProcess(tmp_path)
    try:
        url = process.wait_ready(30)
        view = get(url + "/sandbox/api/view")
        assert view["bot"]["name"] == "Campagne test"
        assert view["channel"]["username"] == "campagne_test"
    finally:
        process.stop()
    assert process.lines[0].startswith("No Telegram bot token configured (the token in config.toml")


def test_sandbox_with_a_missing_explicit_config_fails(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--config", "nope.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=30,
    )
    assert result.returncode == 2
    assert "nope.toml: file not found" in result.stderr


# -- the demo campaign and the samples -----------------------------------------------------


def test_demo_campaign_is_the_example_campaign() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    campaign = demo.demo_campaign()["campaign"]
    for key in ("name", "channel", "hashtags", "offers_url", "trades", "centres"):
        assert campaign[key] == example["campaign"][key], key


def test_samples_carry_orientation_and_gps_that_the_bot_removes() -> None:
    options = ImageOptions(band_text="Fiers d'être apprentis", branding=True)
    by_name = {s.name: s for s in SAMPLES}
    for name in ("mecanicien", "boulangere", "electricienne"):
        sample = by_name[name]
        data = sample_jpeg(sample)
        exif = Image.open(io.BytesIO(data)).getexif()
        if sample.orientation:
            assert exif[ExifTags.Base.Orientation] == sample.orientation
        assert bool(exif.get_ifd(ExifTags.IFD.GPSInfo)) == sample.gps
        processed = process_image(data, options)
        assert (processed.width > processed.height) == (sample.size[0] > sample.size[1])
        clean = Image.open(io.BytesIO(processed.jpeg)).getexif()
        assert not clean.get_ifd(ExifTags.IFD.GPSInfo) and ExifTags.Base.Orientation not in clean
        assert focus(processed.sharpness, CoachSettings()) is Focus.SHARP


# What the photo coach says of each sample (the others: one face, nothing to say).
COACHED = {"floue": Hint.BLURRY, "soudeur": Hint.DARK}
COLLEAGUES = "serveuse"  # two more faces, in the background


def test_the_coach_finds_the_face_of_each_sample_and_hints_as_intended() -> None:
    """One pass of the real pipeline, face search included, over the samples: the
    apprentice's real face is found on each, and no other face but the colleagues'."""
    coach = CoachSettings()
    options = ImageOptions(faces_min_px=40, branding=False)
    seen: dict[str, tuple[Hint | None, int | None]] = {}
    expected: dict[str, tuple[Hint | None, int | None]] = {}
    for sample in SAMPLES:
        if sample.name == "trop-petite":
            with pytest.raises(TooSmall):
                process_image(sample_jpeg(sample), options)
            continue
        done = process_image(sample_jpeg(sample), options)
        faces = done.faces
        measures = measures_of_photo(done)
        if sample.name == "soudeur":  # well under the threshold
            assert done.brightness < 0.7 * coach.dark_below, done.brightness
        if sample.name in COACHED:  # the hint is what counts there, not the faces
            seen[sample.name] = (hint(measures, coach), None)
            expected[sample.name] = (COACHED[sample.name], None)
            continue
        seen[sample.name] = (hint(measures, coach), len(faces))
        expected[sample.name] = (None, 3 if sample.name == COLLEAGUES else 1)
        # The apprentice's face first: the big one, on the drawn head (middle, 40 % down).
        head = faces[0]
        assert abs(head.x + head.w / 2 - done.width / 2) < head.w / 4, (sample.name, faces)
        assert abs(head.y + head.h / 2 - 0.40 * done.height) < head.h / 4, (sample.name, faces)
        if sample.name == COLLEAGUES:
            assert all(60 <= face.w <= 120 and 3 * face.w < head.w for face in faces[1:]), faces
    assert seen == expected


def test_samples_drawn_before_are_drawn_again(tmp_path: Path) -> None:
    """A sandbox folder keeps its samples from one start to the next, unless an older
    drawing left them (faces drawn rather than real)."""
    sample = SAMPLES[0]
    old = tmp_path / sample.filename
    Image.new("RGB", (600, 800), "white").save(old, "JPEG")
    write_samples(tmp_path)
    drawn = old.read_bytes()
    with Image.open(old) as img:
        assert img.getexif()[ExifTags.Base.Software] == DRAWING
    assert {p.name for p in tmp_path.iterdir()} == {s.filename for s in SAMPLES}
    write_samples(tmp_path)  # kept this time
    assert old.read_bytes() == drawn


# -- the page's API ------------------------------------------------------------------------


def press(url: str, user: int, chat: str, prefix: str, apprentice: int) -> dict[str, Any]:
    message, data = wait_for_button(url, chat, prefix, apprentice)
    body = {"user": user, "chat_id": message["chat"]["id"], "message_id": message["message_id"]}
    return post(f"{url}/sandbox/api/press", {**body, "data": data})


def upload_sample(url: str, user: int, sample: str, as_: str = "photo") -> dict[str, Any]:
    boundary = "sandboxboundary"
    fields = {"user": str(user), "chat": "private", "as": as_, "sample": sample}
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    request = urllib.request.Request(
        f"{url}/sandbox/api/upload",
        data=(body + f"--{boundary}--\r\n").encode(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def test_api_plays_a_submission_from_a_new_persona_to_the_channel(sandbox: str) -> None:
    url = sandbox
    ed = post(f"{url}/sandbox/api/persona", {"name": "Ed", "language": "en"})["persona"]
    assert ed["language"] == "en"
    view = get(f"{url}/sandbox/api/view?apprentice={ed['id']}")
    assert view["apprentice"] == ed["id"] and view["chats"]["private"] == []
    camille = next(p for p in view["members"] if p["name"] == "Camille")
    post(f"{url}/sandbox/api/send", {"user": ed["id"], "chat": "private", "text": "/start"})
    for prefix in ("consent:yes", "age:adult", "name:first", "trade:0:0", "centre:0", "quote:"):
        press(url, ed["id"], "private", prefix, ed["id"])
    # Sent as a file (uncompressed, EXIF kept): the bot turns it upright and drops the GPS.
    upload_sample(url, ed["id"], "mecanicien", as_="document")
    press(url, ed["id"], "private", "preview:send", ed["id"])
    card, _ = wait_for_button(url, "group", "mod:ok:", ed["id"], containing="👤 Ed ·")
    assert "Ed" in card["caption"]
    answer = press(url, camille["id"], "group", "mod:ok:", ed["id"])["answer"]
    assert answer and answer["text"]
    result = post(f"{url}/sandbox/api/slot", {})
    assert len(result["published"]) == 1 and result["paused"] is None
    view = get(f"{url}/sandbox/api/view?apprentice={ed['id']}")
    [post_] = view["chats"]["channel"]
    assert "Ed" in post_["caption"] and post_["photo"]
    assert post_["reply_markup"]["inline_keyboard"][0][0]["url"].startswith("https://")
    photo = get_bytes(f"{url}/sandbox/file/{post_['photo'][-1]['file_id']}")
    shown = Image.open(io.BytesIO(photo))
    assert shown.height > shown.width  # the sideways mechanic photo, upright
    assert not shown.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert post(f"{url}/sandbox/api/slot", {})["published"] == []
    # The fourth pane: the public site, written by the bot as it published.
    [number] = result["published"]
    assert get(f"{url}/sandbox/api/view")["site"] > 0
    assert "Ed" in get_bytes(f"{url}/site/").decode()
    assert "Ed" in get_bytes(f"{url}/site/selfies/{number}/").decode()
    for missing in ("/site/selfies/999999/", "/site/%2e%2e/%2e%2e/etc/passwd"):
        with pytest.raises(urllib.error.HTTPError) as error:
            get_bytes(url + missing)
        assert error.value.code == 404


def test_the_page_and_its_api_never_show_the_token(sandbox: str) -> None:
    """The page reads chats, files and news through its own API, never through Bot API
    URLs (``/bot<token>/…``, ``/file/bot<token>/…``), so the token is nowhere in it."""
    url = sandbox
    kim = post(f"{url}/sandbox/api/persona", {"name": "Kim", "language": "fr"})["persona"]
    post(f"{url}/sandbox/api/send", {"user": kim["id"], "chat": "private", "text": "/start"})
    for prefix in ("consent:yes", "age:adult", "name:first", "trade:0:0", "centre:0", "quote:"):
        press(url, kim["id"], "private", prefix, kim["id"])
    upload_sample(url, kim["id"], "mecanicien")
    press(url, kim["id"], "private", "preview:send", kim["id"])
    card, _ = wait_for_button(url, "group", "mod:ok:", kim["id"], containing="👤 Kim ·")
    page = get(url + "/")
    shown = [page, get(url + "/sandbox/static/app.js"), get(url + "/sandbox/static/style.css")]
    view = get(f"{url}/sandbox/api/view?apprentice={kim['id']}")
    shown.append(json.dumps(view))
    files = {
        m["photo"][-1]["file_id"] for chat in view["chats"].values() for m in chat if "photo" in m
    }
    assert files and card["photo"][-1]["file_id"] in files
    shown += [get_bytes(f"{url}/sandbox/file/{file_id}").decode("latin-1") for file_id in files]
    with urllib.request.urlopen(f"{url}/sandbox/api/events", timeout=10) as events:
        shown.append(events.readline().decode())
    secret = demo.TOKEN.split(":")[1]
    assert [text[:80] for text in shown if secret in text] == []


def get_bytes(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_api_group_reply_and_commands(sandbox: str) -> None:
    url = sandbox
    view = get(f"{url}/sandbox/api/view")
    sam = next(p for p in view["members"] if p["name"] == "Sam")
    assert {c["command"] for c in view["commands"]["group"]} >= {"queue", "stats"}
    assert {c["command"] for c in view["commands"]["private"]} >= {"start", "aide"}
    sent = post(f"{url}/sandbox/api/send", {"user": sam["id"], "chat": "group", "text": "/stats"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        group = get(f"{url}/sandbox/api/view")["chats"]["group"]
        answers = [m for m in group if m["message_id"] > sent["message_id"]]
        if answers:
            break
        time.sleep(0.1)
    assert answers and answers[0]["from"]["id"] == view["bot"]["id"]
    reply = post(
        f"{url}/sandbox/api/send",
        {"user": sam["id"], "chat": "group", "text": "ok", "reply_to": answers[0]["message_id"]},
    )
    group = get(f"{url}/sandbox/api/view")["chats"]["group"]
    mine = next(m for m in group if m["message_id"] == reply["message_id"])
    assert mine["reply_to_message"]["message_id"] == answers[0]["message_id"]


def test_api_refuses_other_origins_and_unknown_users(sandbox: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        post(
            f"{sandbox}/sandbox/api/send",
            {"user": 1, "text": "hi"},
            headers={"Origin": "http://evil.example"},
        )
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as unknown:
        post(f"{sandbox}/sandbox/api/send", {"user": 1, "text": "hi"})
    assert unknown.value.code == 400


def test_posters_for_each_centre_are_offered_and_nothing_else(sandbox: str) -> None:
    """The page lists the demo campaign's QR posters, drawn for the emulated bot on request;
    only the campaign's own poster names are served."""
    from tests.support.posters import Page

    rows = get(f"{sandbox}/sandbox/api/view")["posters"]
    centres = demo.demo_campaign()["campaign"]["centres"]
    assert [row["centre"] for row in rows] == [None, *[c["name"] for c in centres]]
    assert rows[1] == {
        "centre": "CFA de Dijon",
        "fr": "/sandbox/posters/poster-cfa-dijon.pdf",
        "en": "/sandbox/posters/poster-cfa-dijon.en.pdf",
    }
    with urllib.request.urlopen(sandbox + rows[1]["en"], timeout=30) as response:
        assert response.headers.get_content_type() == "application/pdf"
        assert "poster-cfa-dijon.en.pdf" in response.headers["Content-Disposition"]
        page = Page(response.read())
    assert page.codes() == [f"https://t.me/{demo.BOT_USERNAME}?start=cfa-dijon"]
    assert "CFA de Dijon" in page.words() and "Apprentice?" in page.words()
    for wrong in ("poster-nowhere.pdf", "poster-cfa-dijon.de.pdf", "..%2Fapp.js", "index.html"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get_bytes(f"{sandbox}/sandbox/posters/{wrong}")
        assert refused.value.code == 404, wrong
