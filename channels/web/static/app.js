// Ledgerdesk pages: live updates over SSE, keyboard shortcuts, SLA countdowns.
// Plain JavaScript, no build step, no inline script (the CSP forbids it).
(function () {
  "use strict";

  // --- live parts: elements with data-live-url are fetched again on change ----
  function livePartsOf(doc) { return Array.from(doc.querySelectorAll("[data-live-url]")); }

  const asked = {};  // per part: a late answer to an older refresh must not undo a newer one
  async function refresh(el) {
    const url = el.getAttribute("data-live-url");
    const id = el.id;
    const mine = asked[id] = (asked[id] || 0) + 1;
    const answer = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!answer.ok) return;
    const fresh = new DOMParser().parseFromString(await answer.text(), "text/html").body.firstElementChild;
    if (mine !== asked[id]) return;
    el = document.getElementById(id);
    if (!el || !fresh || fresh.id !== el.id) return;
    if (fresh.innerHTML === el.innerHTML) return;  // nothing new to show
    const before = new Set(Array.from(el.querySelectorAll("[data-reference], [data-kind]")).map(keyOf));
    const selected = el.querySelector("tr.selected");
    const selectedRef = selected && selected.getAttribute("data-reference");
    el.replaceWith(fresh);
    fresh.querySelectorAll("[data-reference], [data-kind]").forEach(function (item, i) {
      if (!before.has(keyOf(item, i))) item.classList.add("new-activity");
    });
    markCurrent(fresh);
    if (selectedRef) {
      const again = fresh.querySelector('tr[data-reference="' + selectedRef + '"]');
      if (again) again.classList.add("selected");
    }
    countdowns(fresh);
    document.dispatchEvent(new CustomEvent("ledgerdesk:updated", { detail: fresh.id }));
  }

  function keyOf(item, i) {
    return item.getAttribute("data-reference") || (item.getAttribute("data-kind") + ":" + i);
  }

  function markCurrent(root) {
    const m = location.pathname.match(/\/requests\/(SR-[0-9]+)/);
    if (!m) return;
    const row = root.querySelector('tr[data-reference="' + m[1] + '"]');
    if (row) row.classList.add("current");
  }

  function listen() {
    if (!livePartsOf(document).length || !window.EventSource) return;
    if (document.getElementById("chat")) return;  // the chat listens for itself (chat.js)
    const source = new EventSource("/live");
    let pending = null;
    // Changes made between this page's rendering and the stream's opening are
    // not announced: look once when it opens (and again after a reconnect).
    source.addEventListener("open", function () {
      livePartsOf(document).forEach(function (el) { refresh(el).catch(function () {}); });
    });
    source.addEventListener("change", function () {
      if (pending) return;
      pending = setTimeout(function () {
        pending = null;
        livePartsOf(document).forEach(function (el) { refresh(el).catch(function () {}); });
      }, 50);
    });
  }

  // --- SLA countdowns: green, amber in the last 20 %, red once past due ------
  function countdowns(root) {
    (root || document).querySelectorAll("time[data-countdown]").forEach(function (t) {
      const due = Date.parse(t.getAttribute("datetime"));
      if (isNaN(due)) return;
      const left = due - Date.now();
      t.classList.remove("green", "amber", "red");
      t.classList.add(left < 0 ? "red" : left < 0.2 * 8 * 3600 * 1000 ? "amber" : "green");
    });
  }

  // --- keyboard: j/k move, Enter opens, r n a s focus a form, / search, ? help --
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function rows() { return Array.from(document.querySelectorAll("tr[data-reference]")); }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    let at = all.findIndex(function (r) { return r.classList.contains("selected"); });
    if (at < 0) at = all.findIndex(function (r) { return r.classList.contains("current"); });
    const next = Math.max(0, Math.min(all.length - 1, at + step));
    all.forEach(function (r) { r.classList.remove("selected"); });
    all[next].classList.add("selected");
    all[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    const shortcut = document.querySelector('[data-shortcut="' + event.key + '"]');
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "Enter") {
      const row = document.querySelector("tr.selected a");
      if (row) { row.click(); event.preventDefault(); }
    } else if (event.key === "?") {
      const help = document.getElementById("shortcuts");
      if (help && help.showModal) help.showModal();
    } else if (shortcut) { shortcut.focus(); event.preventDefault(); }
  });

  // --- knowledge: insert an article's text into the reply ---------------------
  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest(".insert-article");
    if (!button) return;
    const box = document.getElementById("reply-body");
    if (!box) return;
    box.value = (box.value ? box.value.replace(/\s*$/, "") + "\n\n" : "") + button.getAttribute("data-text");
    box.focus();
  });

  // Rows open on click anywhere in them, not only on the reference.
  document.addEventListener("click", function (event) {
    const row = event.target.closest && event.target.closest("tr[data-reference]");
    if (!row || event.target.closest("a, button, input, select, textarea")) return;
    const link = row.querySelector("a");
    if (link) link.click();
  });

  // A menu marked data-autosubmit applies its choice at once (its button stays
  // for keyboards and for browsers without script).
  document.addEventListener("change", function (event) {
    const menu = event.target.closest && event.target.closest("select[data-autosubmit]");
    if (menu && menu.form) menu.form.submit();
  });

  document.addEventListener("DOMContentLoaded", function () {
    countdowns(document);
    markCurrent(document);
    listen();
    setInterval(function () { countdowns(document); }, 30000);
  });
})();
