// The live wall (bot/site/templates/wall.html): shows the wall's entries one at a time,
// reads its entries.json again every few seconds (a static site has no push), shows a new
// entry at once and drops a removed one at once. When the network fails it keeps cycling
// through the photos it already holds, and catches up at the next read that succeeds.
"use strict";

(() => {
  const wall = document.getElementById("wall");
  const root = wall.dataset.root;
  const source = wall.dataset.entries;
  const seconds = Number(wall.dataset.seconds) * 1000;
  const poll = Number(wall.dataset.poll) * 1000;
  const photo = wall.querySelector(".photo");
  const quote = wall.querySelector(".quote");
  const texts = ["name", "trade", "centre"].map((name) => [name, wall.querySelector(`.${name}`)]);

  let entries = null; // newest first, as last read; null before the first read
  let current = null; // the entry on the screen
  let turn = 0; // the latest decision to show something: an older one still loading yields
  let timer = 0;
  const images = new Map(); // photo URL -> Image, kept while its entry is on the wall

  const key = (entry) => entry.photo;
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

  // The entry's photo, downloaded and decoded (a failed download is tried again).
  function loaded(entry) {
    const url = root + entry.photo;
    let image = images.get(url);
    if (!image || (image.complete && image.naturalWidth === 0)) {
      image = new Image();
      image.src = url;
      images.set(url, image);
    }
    return image.decode().then(() => url);
  }

  function paint(entry, url) {
    photo.src = url;
    photo.width = entry.width;
    photo.height = entry.height;
    photo.alt = entry.alt;
    for (const [name, node] of texts) node.textContent = entry[name];
    quote.firstElementChild.textContent = entry.quote || "";
    quote.classList.toggle("none", !entry.quote);
    wall.classList.remove("fresh");
    void wall.offsetWidth; // restart the arrival's animation (none when motion is reduced)
    wall.classList.add("fresh");
    wall.dataset.state = "entry";
    wall.dataset.photo = entry.photo;
  }

  // Show the first of `candidates` whose photo loads; keep what is shown if none does.
  async function show(candidates) {
    const mine = ++turn;
    clearTimeout(timer);
    for (const entry of candidates) {
      try {
        const url = await loaded(entry);
        if (mine !== turn) return;
        const again = current && same(entry, current) && wall.dataset.state === "entry";
        current = entry;
        if (!again) paint(entry, url); // a wall of one selfie does not blink
        const next = following(entry);
        if (next) loaded(next).catch(() => {}); // ready for its turn
        break;
      } catch (error) {
        if (mine !== turn) return;
      }
    }
    if (current && !entries.some((e) => key(e) === key(current))) {
      current = null; // removed, and no other photo loads yet: never left on the screen
      wall.dataset.state = "empty";
      delete wall.dataset.photo;
    }
    timer = setTimeout(advance, seconds);
  }

  // The entries after `entry` in the wall's order, wrapping around.
  function after(entry) {
    const at = entries.findIndex((e) => key(e) === key(entry));
    return [...entries.slice(at + 1), ...entries.slice(0, at + 1)];
  }

  function following(entry) {
    const rest = after(entry).filter((e) => key(e) !== key(entry));
    return rest[0];
  }

  function advance() {
    if (!entries || entries.length === 0) return;
    show(current ? after(current) : entries);
  }

  function empty() {
    turn++;
    clearTimeout(timer);
    current = null;
    wall.dataset.state = "empty";
    delete wall.dataset.photo;
  }

  // A new read of the wall: new entries shown at once, the newest first; the one on the
  // screen replaced at once when it left or changed.
  function update(list) {
    const before = entries;
    const known = new Set((before || []).map(key));
    const kept = new Set(list.map(key));
    for (const url of images.keys()) {
      if (!kept.has(url.slice(root.length))) images.delete(url);
    }
    entries = list;
    if (list.length === 0) return empty();
    const fresh = list.filter((e) => !known.has(key(e)));
    if (before === null || current === null) return show(list);
    if (fresh.length) return show([...fresh, ...list]);
    const now = list.find((e) => key(e) === key(current));
    if (!now) {
      const at = before.findIndex((e) => key(e) === key(current));
      const next = before.slice(at + 1).find((e) => kept.has(key(e)));
      return show(next ? [next, ...after(next)] : list);
    }
    if (!same(now, current)) return show([now, ...after(now)]);
  }

  async function read() {
    try {
      const signal = AbortSignal.timeout(poll); // a server that never answers is down too
      const response = await fetch(source, { cache: "no-store", signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      wall.dataset.live = "live";
      update(data.entries);
    } catch (error) {
      wall.dataset.live = "offline";
      if (entries === null) wall.dataset.state = "empty"; // nothing yet: the invitation
    }
    setTimeout(read, poll);
  }

  function toggleFullScreen() {
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {});
  }

  document.addEventListener("keydown", (event) => {
    if (event.key.toLowerCase() !== "f" || event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    toggleFullScreen();
  });
  wall.querySelector(".fullscreen").addEventListener("click", toggleFullScreen);

  // A screen left on: ask the browser not to dim it, again each time the page shows.
  function stayAwake() {
    if (navigator.wakeLock && document.visibilityState === "visible") {
      navigator.wakeLock.request("screen").catch(() => {});
    }
  }
  document.addEventListener("visibilitychange", stayAwake);
  stayAwake();
  read();
})();
