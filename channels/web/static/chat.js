// Web chat: send with a message id made here (a resend records once), keep
// unsent messages across a dropped connection or a reload, update live.
(function () {
  "use strict";
  const form = document.querySelector("form[data-chat]");
  if (!form) return;
  const tokenField = form.querySelector('input[name="token"]');
  const isWidget = !!tokenField && !form.querySelector('input[name="csrf_token"]');
  const status = form.querySelector(".chat-status");
  const box = form.querySelector("textarea");
  const PENDING = "ledgerdesk-chat-pending";
  const TOKEN = "ledgerdesk-chat-token";

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }
  function pending() { try { return JSON.parse(localStorage.getItem(PENDING) || "[]"); } catch (e) { return []; } }
  function savePending(list) { localStorage.setItem(PENDING, JSON.stringify(list)); }

  if (isWidget) {  // the visitor's token: from the page just started, else kept from before
    const fresh = tokenField.value;
    if (fresh) localStorage.setItem(TOKEN, fresh);
    else if (localStorage.getItem(TOKEN)) tokenField.value = localStorage.getItem(TOKEN);
    if (tokenField.value) {
      form.hidden = false;
      const start = document.querySelector(".widget-start");
      if (start) start.hidden = true;
    }
  }

  function log() { return document.getElementById("chat"); }

  function showPending(list) {  // what is not yet recorded stays visible, marked
    list.querySelectorAll("li.pending").forEach(function (li) { li.remove(); });
    pending().forEach(function (m) {
      const li = document.createElement("li");
      li.className = "chat-in pending"; li.setAttribute("data-direction", "in");
      li.setAttribute("data-pending", "");
      li.textContent = m.message; list.appendChild(li);
    });
    list.scrollTop = list.scrollHeight;
  }

  let asked = 0;  // answers to an older refresh arriving late must not undo a newer one
  async function refresh() {
    const el = log();
    if (!el) return;
    const mine = ++asked;
    let url = el.getAttribute("data-live-url");
    if (isWidget) {
      if (!tokenField.value) { showPending(el); return; }
      url += "?token=" + encodeURIComponent(tokenField.value);
    }
    let fresh = null;
    try {
      const answer = await fetch(url, { credentials: "same-origin" });
      if (answer.ok) {
        fresh = new DOMParser().parseFromString(await answer.text(), "text/html").getElementById("chat");
      }
    } catch (e) { fresh = null; }  // offline: keep what is shown, add what waits
    if (mine !== asked) return;
    const current = log();
    if (!fresh) { if (current) showPending(current); return; }
    if (!current) return;
    current.replaceWith(fresh);
    showPending(fresh);
  }

  async function sendOne(m) {
    const body = new FormData();
    body.set("message", m.message);
    body.set("client_id", m.id);
    const csrf = form.querySelector('input[name="csrf_token"]');
    if (csrf) body.set("csrf_token", csrf.value);
    if (isWidget) body.set("token", tokenField.value);
    const answer = await fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                                              headers: { "Accept": "application/json" } });
    const data = await answer.json().catch(function () { return {}; });
    if (!answer.ok) {
      if (answer.status >= 500 || answer.status === 429) throw new Error(data.error || "retry");
      status.textContent = data.error || "";
      return true;  // refused for good: drop it, the reason is shown
    }
    if (isWidget && data.token) { tokenField.value = data.token; localStorage.setItem(TOKEN, data.token); }
    return true;
  }

  let flushing = false;
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      let list = pending();
      while (list.length) {
        try { await sendOne(list[0]); }
        catch (e) { status.textContent = form.getAttribute("data-offline") || "…"; setTimeout(flush, 2000); return; }
        list = pending().slice(1); savePending(list);
        status.textContent = "";
      }
    } finally { flushing = false; }
    refresh();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = box.value.trim();
    if (!text) return;
    savePending(pending().concat([{ id: newId(), message: text }]));
    box.value = "";
    refresh(); flush();
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });

  function listen() {
    let url = form.getAttribute("data-events");
    if (!url || !window.EventSource) return;
    if (isWidget) {
      if (!tokenField.value) { setTimeout(listen, 2000); return; }
      url += "?token=" + encodeURIComponent(tokenField.value);
    }
    const source = new EventSource(url);
    source.addEventListener("change", function () { refresh(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    listen(); flush(); refresh();
    setInterval(refresh, 10000);  // also tells the desk the panel is still open
  });
})();
