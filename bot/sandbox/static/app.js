// selfie-bot sandbox page: renders the emulator's chats and acts through its driver API.
// Plain JavaScript, no build step, no external resources.
"use strict";

const state = {
  view: null,
  apprentice: null,   // id of the apprentice being played
  moderator: null,    // id of the group member being played
  replyTo: { group: null },  // a reply makes sense in the group only: to a card, a refusal reason
  sample: null,
  loading: false,
  again: false,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// -- talking to the sandbox --------------------------------------------------------------

async function api(path, body) {
  const init = body instanceof FormData
    ? { method: "POST", body }
    : body !== undefined
      ? { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }
      : {};
  const response = await fetch(path, init);
  let payload = {};
  try { payload = await response.json(); } catch (e) { payload = { ok: false, error: response.statusText }; }
  if (!response.ok || payload.ok === false) {
    toast("⚠ " + (payload.error || response.statusText));
    throw new Error(payload.error || response.statusText);
  }
  return payload;
}

async function refresh() {
  if (state.loading) { state.again = true; return; }
  state.loading = true;
  try {
    const query = state.apprentice ? `?apprentice=${state.apprentice}` : "";
    const view = await (await fetch("/sandbox/api/view" + query)).json();
    state.view = view;
    if (!state.apprentice) state.apprentice = view.apprentice;
    if (!state.moderator) state.moderator = view.members[0].id;
    render(view);
    setStatus(view.ready ? "ready" : "starting");
  } catch (e) {
    setStatus("offline");
  } finally {
    state.loading = false;
    if (state.again) { state.again = false; refresh(); }
  }
}

function setStatus(kind) {
  const labels = {
    ready: ["bot en marche", "bot running"],
    starting: ["démarrage…", "starting…"],
    offline: ["hors ligne", "offline"],
  };
  const node = $("status");
  node.className = "status " + kind;
  node.replaceChildren(labels[kind][0] + " ", el("span", { class: "en" }, "/ " + labels[kind][1]));
}

function listen() {
  const source = new EventSource("/sandbox/api/events");
  source.onmessage = () => refresh();
  source.onerror = () => setStatus("offline");
  source.onopen = () => refresh();
}

// -- rendering -------------------------------------------------------------------------

function render(view) {
  $("bot-name").textContent = `${view.bot.name} · @${view.bot.username}`;
  $("group-title").textContent = view.group.title;
  $("channel-title").textContent = `${view.channel.title} · @${view.channel.username}`;
  fillSelect($("persona"), view.apprentices, state.apprentice,
    (p) => `${p.name} (${p.language})`);
  fillSelect($("moderator"), view.members, state.moderator,
    (p) => p.moderator ? `${p.name} (modo)` : `${p.name} (pas modo / not a moderator)`);
  renderSamples(view.samples);
  renderChat("private", view.chats.private, view);
  renderChat("group", view.chats.group, view);
  renderChat("channel", view.chats.channel, view);
  renderSite(view.site);
  renderPosters(view.posters);
  renderMenu("private", view.commands.private);
  renderMenu("group", view.commands.group);
}

// The site pane follows the bot's writes: reloaded (at the page the visitor is on) when
// the site's front page changed.
function renderSite(stamp) {
  if (state.site === stamp) return;
  const first = state.site === undefined;
  state.site = stamp;
  const frame = $("site-frame");
  if (first) return;
  markFresh($("pane-site"));
  try { frame.contentWindow.location.reload(); } catch (e) { frame.src = "/site/"; }
}

// The QR posters (selfie-bot posters), drawn by the sandbox on download: general first.
function renderPosters(posters) {
  const key = JSON.stringify(posters);
  const list = $("poster-list");
  if (!posters.length || list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...posters.map((poster) => {
    const name = poster.centre || "Sans centre / No centre";
    const link = (language) => el("a", {
      href: poster[language], download: "", hreflang: language,
      "aria-label": `${name} — PDF ${language}`,
    }, `PDF ${language}`);
    return el("li", {}, el("span", { class: "poster-name" }, name), " ", link("fr"), " ", link("en"));
  }));
}

function fillSelect(select, people, current, label) {
  const key = people.map((p) => p.id + label(p)).join("|");
  if (select.dataset.key !== key) {
    select.replaceChildren(...people.map((p) => el("option", { value: p.id }, label(p))));
    select.dataset.key = key;
  }
  select.value = String(current);
}

let samplesDrawn = false;
function renderSamples(samples) {
  if (samplesDrawn) return;
  samplesDrawn = true;
  $("samples").replaceChildren(...samples.map((s) =>
    el("button", {
      type: "button", class: "sample", "data-sample": s.name, title: `${s.fr} / ${s.en}`,
      onclick: () => sendSample(s.name),
    },
    el("img", { src: s.url, alt: "", loading: "lazy" }),  // named by the text below it
    el("div", {}, s.fr),
    s.tags.length ? el("div", { class: "tags" }, s.tags.join(" · ")) : null)));
}

function renderChat(kind, messages, view) {
  const box = $("messages-" + kind);
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const key = JSON.stringify([view.timezone, messages]);
  if (box.dataset.key === key) return;
  if (box.dataset.key) markFresh(box.closest(".pane"));
  box.dataset.key = key;
  const nodes = messages.map((m) => renderMessage(kind, m, view));
  if (!nodes.length) {
    const empty = {
      private: ["Écrivez /start pour commencer.", "Write /start to begin."],
      group: ["Les cartes des participations arriveront ici.", "Entry cards will arrive here."],
      channel: ["Les publications apparaîtront ici.", "Posts will appear here."],
    }[kind];
    nodes.push(el("div", { class: "empty" }, empty[0], el("br"), el("span", { class: "en" }, empty[1])));
  }
  box.replaceChildren(...nodes);
  if (atBottom || !box.dataset.scrolled) {
    box.scrollTop = box.scrollHeight;
    box.dataset.scrolled = "1";
    // Photos load after layout, each pushing the newest message down: the chat stays at
    // its bottom until the person scrolls up (after a reload, all the photos at once).
    box.dataset.stick = "1";
    box.querySelectorAll("img").forEach((img) => img.addEventListener("load", () => {
      if (box.dataset.stick === "1") box.scrollTop = box.scrollHeight;
    }, { once: true }));
  }
}

function followScrolling(box) {
  box.addEventListener("scroll", () => {
    box.dataset.stick = box.scrollHeight - box.scrollTop - box.clientHeight < 60 ? "1" : "";
  }, { passive: true });
}

function isMine(kind, message, view) {
  const from = message.from && message.from.id;
  return kind !== "channel" && from !== undefined && from !== view.bot.id;
}

function senderName(message, view) {
  if (!message.from) return message.chat.title || "";
  if (message.from.id === view.bot.id) return view.bot.name;
  const member = view.members.find((p) => p.id === message.from.id);
  const suffix = member && member.moderator ? " (modo)" : "";
  return message.from.first_name + suffix;
}

function renderMessage(kind, m, view) {
  const mine = isMine(kind, m, view);
  const classes = ["msg"];
  if (mine) classes.push("mine");
  if (kind === "channel") classes.push("post");
  const node = el("div", { class: classes.join(" "), "data-message-id": m.message_id, "data-chat": kind });
  if (kind === "group") node.append(el("div", { class: "sender" }, senderName(m, view)));
  if (m.reply_to_message) {
    const r = m.reply_to_message;
    const snippet = (r.text || r.caption || (r.photo ? "📷 Photo" : "…")).split("\n")[0].slice(0, 80);
    node.append(el("div", { class: "quote" }, snippet));
  }
  if (m.photo && m.photo.length) {
    // After editMessageMedia the sizes carry new file_ids: new URLs, never a stale picture.
    const shown = m.photo.find((p) => p.width >= 600) || m.photo[m.photo.length - 1];
    const full = m.photo[m.photo.length - 1];
    node.append(el("a", { href: fileUrl(full.file_id), target: "_blank", rel: "noopener" },
      el("img", { class: "photo", src: fileUrl(shown.file_id), alt: "photo", width: shown.width, height: shown.height })));
  }
  if (m.document && !m.animation) node.append(renderDocument(m.document));
  if (m.sticker) node.append(el("div", { class: "sticker-big" }, m.sticker.emoji || "🖼"));
  if (m.video || m.animation) node.append(el("div", {}, "🎬 vidéo / video"));
  const text = m.text !== undefined ? m.text : m.caption;
  const entities = m.text !== undefined ? m.entities : m.caption_entities;
  if (text) node.append(el("div", { class: "text" }, richText(text, entities, kind)));
  if (m.reply_markup && m.reply_markup.inline_keyboard) {
    node.append(renderKeyboard(kind, m));
  }
  const sent = moment(m.date, view.timezone);
  const replyable = kind === "group" && m.from && m.from.id === view.bot.id;
  node.append(el("div", { class: "foot" },
    replyable && el("button", {
      type: "button", class: "reply-btn", title: "Répondre / Reply", onclick: () => setReply(kind, m),
    }, "↩ Répondre / Reply"),
    el("div", { class: "meta", title: sent.full }, (m.edit_date ? "modifié / edited · " : "") + sent.time)));
  return node;
}

// A Telegram date (Unix seconds) in the campaign's timezone (schedule.timezone), the zone
// of the bot's own texts, whatever the browser's is; the browser's until the bot is up.
function moment(seconds, timeZone) {
  const date = new Date(seconds * 1000);
  const options = { timeZone: timeZone || undefined, hourCycle: "h23" };
  const time = date.toLocaleTimeString("fr-FR", { ...options, hour: "2-digit", minute: "2-digit" });
  const day = date.toLocaleDateString("fr-FR", { ...options, day: "2-digit", month: "2-digit", year: "numeric" });
  return { time, full: timeZone ? `${day} ${time} (${timeZone})` : `${day} ${time}` };
}

function renderDocument(doc) {
  const size = doc.file_size ? ` · ${Math.max(1, Math.round(doc.file_size / 1024))} kB` : "";
  const isImage = (doc.mime_type || "").startsWith("image/");
  return el("a", { class: "doc", href: fileUrl(doc.file_id), target: "_blank", rel: "noopener" },
    isImage ? el("img", { src: fileUrl(doc.file_id), alt: doc.file_name || "" }) : el("span", { class: "icon" }, "📄"),
    el("span", {}, (doc.file_name || "fichier / file") + size));
}

function renderKeyboard(kind, m) {
  const box = el("div", { class: "keyboard" });
  for (const row of m.reply_markup.inline_keyboard) {
    const line = el("div", { class: "row" });
    for (const button of row) {
      if (button.url) {
        line.append(linkTo(button.url, button.text));
      } else if (button.callback_data !== undefined) {
        line.append(el("button", {
          type: "button", "data-callback": button.callback_data,
          onclick: (event) => press(kind, m, button.callback_data, event.currentTarget),
        }, button.text));
      } else {
        line.append(el("button", { type: "button", disabled: true }, button.text));
      }
    }
    box.append(line);
  }
  return box;
}

// A link to a post of the sandbox channel scrolls to it; a deep link to the bot
// (t.me/<bot>?start=…) opens the bot's chat on the phone, as Telegram's START button does;
// others open in a new tab.
function linkTo(url, label) {
  const view = state.view;
  const match = view && url.match(/^https:\/\/t\.me\/([A-Za-z0-9_]+)\/(\d+)/);
  if (match && match[1].toLowerCase() === (view.channel.username || "").toLowerCase()) {
    return el("a", { href: url, onclick: (event) => { event.preventDefault(); showPost(match[2]); } }, label);
  }
  const deep = view && url.match(/^https:\/\/t\.me\/([A-Za-z0-9_]+)\?start=([A-Za-z0-9_-]{1,64})$/);
  if (deep && deep[1].toLowerCase() === (view.bot.username || "").toLowerCase()) {
    return el("a", { href: url, onclick: (event) => { event.preventDefault(); startWith(deep[2]); } }, label);
  }
  return el("a", { href: url, target: "_blank", rel: "noopener" }, label);
}

async function startWith(payload) {
  showPane("pane-apprentice");
  try {
    await api("/sandbox/api/send", { user: actor("private"), chat: "private", text: `/start ${payload}` });
  } catch (e) { /* told */ }
  refresh();
}

function showPost(messageId) {
  const post = document.querySelector(`#messages-channel [data-message-id="${messageId}"]`);
  if (!post) { toast("Publication introuvable (supprimée ?) / Post not found (deleted?)"); return; }
  showPane("pane-channel");
  post.scrollIntoView({ behavior: "smooth", block: "center" });
  post.classList.add("flash");
  setTimeout(() => post.classList.remove("flash"), 1600);
}

function fileUrl(fileId) { return "/sandbox/file/" + encodeURIComponent(fileId); }

// Telegram entities (offsets in UTF-16 code units, as JavaScript strings) to elements.
function richText(text, entities, kind) {
  const sorted = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  const fragment = document.createDocumentFragment();
  build(0, text.length, sorted, fragment);
  return fragment;

  function build(start, end, list, parent) {
    let pos = start;
    let i = 0;
    while (i < list.length) {
      const entity = list[i];
      const from = Math.max(entity.offset, pos);
      const to = Math.min(entity.offset + entity.length, end);
      i += 1;
      const inner = [];
      while (i < list.length && list[i].offset < to) { inner.push(list[i]); i += 1; }
      if (to <= from) continue;
      if (from > pos) parent.append(plain(text.slice(pos, from)));
      const node = entityNode(entity, text.slice(from, to));
      build(from, to, inner, node);
      parent.append(node);
      pos = to;
    }
    if (pos < end) parent.append(plain(text.slice(pos, end)));
  }

  function plain(chunk) {
    // Bare links and commands, as Telegram clients show them.
    const out = document.createDocumentFragment();
    const pattern = /(https?:\/\/[^\s<>«»]+[^\s<>«».,;:!?)»])|(^|\s)(\/[A-Za-z0-9_]{1,32})\b/g;
    let last = 0;
    for (const match of chunk.matchAll(pattern)) {
      const start = match.index + (match[1] ? 0 : match[2].length);
      out.append(chunk.slice(last, start));
      const token = match[1] || match[3];
      if (match[1]) out.append(linkTo(token, token));
      else if (kind !== "channel") out.append(el("a", { href: "#", onclick: (event) => { event.preventDefault(); fillText(kind, token); } }, token));
      else out.append(token);
      last = start + token.length;
    }
    out.append(chunk.slice(last));
    return out;
  }
}

function entityNode(entity, content) {
  switch (entity.type) {
    case "bold": return el("b");
    case "italic": return el("i");
    case "underline": return el("u");
    case "strikethrough": return el("s");
    case "spoiler": return el("span", { class: "spoiler" });
    case "code": return el("code");
    case "pre": return el("pre");
    case "blockquote": return el("blockquote");
    case "text_link": return linkTo(entity.url, "");
    case "url": return linkTo(content, "");
    default: return el("span");
  }
}

// -- acting ----------------------------------------------------------------------------

function actor(kind) { return kind === "group" ? state.moderator : state.apprentice; }

async function press(kind, message, data, button) {
  if (button) button.disabled = true;
  try {
    const result = await api("/sandbox/api/press", {
      user: actor(kind), chat_id: message.chat.id, message_id: message.message_id, data,
    });
    const answer = result.answer;
    if (answer && answer.text) {
      if (answer.show_alert) showAlert(answer.text); else toast(answer.text);
    }
  } catch (e) { /* told by api() */ } finally {
    if (button) button.disabled = false;
    refresh();
  }
}

async function sendText(kind) {
  const input = $("text-" + kind);
  const text = input.value.trim();
  if (!text) return;
  const reply = state.replyTo[kind];
  // Cleared at once: what is typed while this one is on its way is the next message,
  // never wiped when this one's answer comes back.
  input.value = "";
  if (reply) setReply(kind, null);
  try {
    await api("/sandbox/api/send", {
      user: actor(kind), chat: kind, text, reply_to: reply ? reply.message_id : null,
    });
  } catch (e) {
    if (!input.value) { input.value = text; if (reply) setReply(kind, reply); }  // told; kept to retry
  }
  refresh();
}

function sendAs(kind) {
  const checked = document.querySelector(`input[name="as-${kind}"]:checked`);
  return checked ? checked.value : "photo";
}

async function upload(kind, fields) {
  const form = new FormData();
  form.append("user", actor(kind));
  form.append("chat", kind);
  form.append("as", sendAs(kind));
  const caption = $("text-" + kind).value.trim();
  if (caption) form.append("caption", caption);
  const reply = state.replyTo[kind];
  if (reply) form.append("reply_to", reply.message_id);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  try {
    await api("/sandbox/api/upload", form);
    $("text-" + kind).value = "";
    if (reply) setReply(kind, null);
    $("attach-" + kind).classList.add("hidden");
  } catch (e) { /* told */ }
  refresh();
}

function sendSample(name) { return upload("private", { sample: name }); }

function setReply(kind, message) {
  state.replyTo[kind] = message;
  const bar = $("replying-" + kind);
  if (!message) { bar.classList.add("hidden"); bar.replaceChildren(); return; }
  const snippet = (message.text || message.caption || "📷").split("\n")[0].slice(0, 60);
  bar.replaceChildren(
    el("span", {}, `↩ Réponse à / Replying to #${message.message_id}: ${snippet}`),
    el("button", { type: "button", title: "Annuler / Cancel", onclick: () => setReply(kind, null) }, "✕"));
  bar.classList.remove("hidden");
  $("text-" + kind).focus();
}

function fillText(kind, text) {
  const input = $("text-" + kind);
  input.value = text;
  input.focus();
}

function renderMenu(kind, commands) {
  const menu = $("menu-" + kind);
  const key = JSON.stringify(commands);
  if (menu.dataset.key === key) return;
  menu.dataset.key = key;
  const items = commands.map((c) => el("button", {
    type: "button",
    onclick: () => { menu.classList.add("hidden"); fillText(kind, "/" + c.command); sendText(kind); },
  }, el("b", {}, "/" + c.command), " — " + c.description));
  if (!items.length) items.push(el("div", { class: "empty" }, "…"));
  menu.replaceChildren(...items);
}

// -- the panes as tabs, on a screen too narrow for the four side by side ----------------

const narrow = matchMedia("(max-width: 1199px)");
const tabs = () => [...document.querySelectorAll('#tabs [role="tab"]')];
const tabOf = (pane) => document.querySelector(`#tabs [aria-controls="${pane.id}"]`);

function showPane(paneId, focus) {
  for (const tab of tabs()) {
    const current = tab.getAttribute("aria-controls") === paneId;
    tab.setAttribute("aria-selected", String(current));
    tab.tabIndex = current ? 0 : -1;
    $(tab.getAttribute("aria-controls")).classList.toggle("current", current);
    if (current) tab.classList.remove("fresh");
    if (current && focus) tab.focus();
  }
}

// Something new in a pane out of sight: a dot on its tab.
function markFresh(pane) {
  if (narrow.matches && !pane.classList.contains("current")) tabOf(pane).classList.add("fresh");
}

// Tab panels only while they are tabs: side by side, the panes are the page's regions.
function layOut() {
  for (const tab of tabs()) {
    const pane = $(tab.getAttribute("aria-controls"));
    if (narrow.matches) {
      pane.setAttribute("role", "tabpanel");
      pane.setAttribute("aria-labelledby", tab.id);
    } else {
      pane.removeAttribute("role");
      pane.removeAttribute("aria-labelledby");
    }
  }
}

function wireTabs() {
  layOut();
  narrow.addEventListener("change", layOut);
  for (const tab of tabs()) tab.addEventListener("click", () => showPane(tab.getAttribute("aria-controls")));
  $("tabs").addEventListener("keydown", (event) => {
    const all = tabs();
    const at = all.indexOf(document.activeElement);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
    if (at < 0 || to === undefined) return;
    event.preventDefault();
    showPane(all[(to + all.length) % all.length].getAttribute("aria-controls"), true);
  });
}

let toastTimer = null;
function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.classList.remove("hidden");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => node.classList.add("hidden"), 3500);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert").classList.remove("hidden");
  $("alert-ok").focus();
}

function wire() {
  for (const kind of ["private", "group", "channel"]) followScrolling($("messages-" + kind));
  for (const kind of ["private", "group"]) {
    $("composer-" + kind).addEventListener("submit", (event) => { event.preventDefault(); sendText(kind); });
    $("file-" + kind).addEventListener("change", (event) => {
      const file = event.target.files[0];
      event.target.value = "";
      if (file) upload(kind, { file });
    });
  }
  document.querySelectorAll(".clip").forEach((b) => b.addEventListener("click", () =>
    $("attach-" + b.dataset.chat).classList.toggle("hidden")));
  document.querySelectorAll(".composer .menu").forEach((b) => b.addEventListener("click", () =>
    $("menu-" + b.dataset.chat).classList.toggle("hidden")));
  document.querySelectorAll("button.sticker").forEach((b) => b.addEventListener("click", async () => {
    try { await api("/sandbox/api/sticker", { user: actor(b.dataset.chat), chat: b.dataset.chat }); } catch (e) { /* told */ }
    $("attach-" + b.dataset.chat).classList.add("hidden");
    refresh();
  }));
  $("persona").addEventListener("change", (event) => {
    state.apprentice = Number(event.target.value);
    $("messages-private").dataset.scrolled = "";
    refresh();
  });
  $("moderator").addEventListener("change", (event) => { state.moderator = Number(event.target.value); });
  $("add-persona").addEventListener("click", () => {
    $("persona-form").classList.toggle("hidden");
    $("persona-name").focus();
  });
  $("persona-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const result = await api("/sandbox/api/persona", {
        name: $("persona-name").value, language: $("persona-lang").value,
      });
      state.apprentice = result.persona.id;
      $("persona-name").value = "";
      $("persona-form").classList.add("hidden");
      $("messages-private").dataset.scrolled = "";
    } catch (e) { /* told */ }
    refresh();
  });
  $("slot").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const result = await api("/sandbox/api/slot", {});
      if (result.paused) toast(`Publication en pause / Publishing paused: ${result.paused}`);
      else if (!result.published.length) toast("Rien à publier : aucune participation acceptée en attente. / Nothing to publish: no approved entry waiting.");
      else toast(`Publié / Published: n° ${result.published.join(", ")}`);
    } catch (e) { /* told */ } finally { button.disabled = false; refresh(); }
  });
  $("alert-ok").addEventListener("click", () => $("alert").classList.add("hidden"));
}

wire();
wireTabs();
refresh();
listen();
