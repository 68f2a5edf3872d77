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
    applyPart(el, fresh);
  }

  // Puts a part's fresh copy in its place, marking what is new since.
  function applyPart(el, fresh) {
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

  // --- live regions: a page marks what may change with data-live-region ------
  // On a change the page fetches itself once (from the nearest data-live-source,
  // else its own address) and brings each region up to date in place: a part
  // with its own data-live-url is taken from the same answer, and a form the
  // user is in, has typed into, or that shows an error is left exactly as it is
  // (focus, caret and text untouched): only what is around it is refreshed.
  function regionsOf(doc) { return Array.from(doc.querySelectorAll("[data-live-region]")); }

  function sourceOf(el) {
    const marked = el.closest("[data-live-source]");
    return marked ? marked.getAttribute("data-live-source") : location.pathname + location.search;
  }

  const TEXTY = /^(text|search|email|tel|url|number|date|datetime-local|time|month|week|password)$/;

  function fieldsOf(form) { return Array.from(form.querySelectorAll("input, textarea, select")); }

  function dirty(form, fresh) {
    const active = document.activeElement;
    if (active && active !== document.body && form.contains(active)) return true;
    if (form.querySelector("[role=alert], canvas[data-drawn]")) return true;
    const posted = form.closest("[data-live-posted]");
    const freshFields = fresh ? fieldsOf(fresh) : [];
    return fieldsOf(form).some(function (f, i) {
      if (f.type === "hidden" || f.type === "submit" || f.type === "button") return false;
      if (f.type === "file") return f.files && f.files.length > 0;
      if (f.type === "checkbox" || f.type === "radio") return f.checked !== f.defaultChecked;
      if (f.tagName === "SELECT") return changedChoice(f);
      if (f.value !== f.defaultValue) return true;
      // text kept from a refused submission (a conflict, an error) is the user's too
      const twin = freshFields[i];
      return !!posted && f.value !== "" && (!twin || twin.value !== f.value);
    });
  }

  // A menu without a `selected` option shows its first: that is its default too.
  function changedChoice(select) {
    const options = Array.from(select.options);
    if (select.multiple) return options.some(function (o) { return o.selected !== o.defaultSelected; });
    let initial = -1;
    options.forEach(function (o, i) { if (o.defaultSelected) initial = i; });
    if (initial < 0) initial = options.length ? 0 : -1;
    return select.selectedIndex !== initial;
  }

  // Forms are paired by id, else by what they do, in order among equals.
  function formKeys(root) {
    const seen = {};
    return Array.from(root.querySelectorAll("form")).map(function (form) {
      const base = form.id || form.getAttribute("data-action") || form.getAttribute("action") || "form";
      seen[base] = (seen[base] || 0) + 1;
      return { form: form, key: base + "#" + seen[base] };
    });
  }

  // What must stay as it is: dirty forms (mapped to their fresh twin, or null
  // when the fresh page no longer has one) and parts that refresh themselves.
  function keepers(old, fresh) {
    const twins = {};
    formKeys(fresh).forEach(function (k) { twins[k.key] = k.form; });
    const kept = new Map();
    formKeys(old).forEach(function (k) {
      const twin = twins[k.key] || null;
      if (dirty(k.form, twin)) kept.set(k.form, twin);
    });
    old.querySelectorAll("[data-live-url]").forEach(function (part) {
      kept.set(part, part.id ? fresh.querySelector("#" + CSS.escape(part.id)) : null);
    });
    return kept;
  }

  function holds(el, kept) {
    for (const node of kept.keys()) if (el === node || el.contains(node)) return true;
    return false;
  }

  function sameShape(a, b) {
    if (a.length !== b.length) return false;
    return a.every(function (n, i) {
      return n.nodeType === b[i].nodeType && n.nodeName === b[i].nodeName;
    });
  }

  // Brings `old` to look like `fresh`, keeping the kept nodes where they are.
  // Returns false when it could not (the page changed shape around a dirty form).
  function patch(old, fresh, kept) {
    if (kept.has(old)) return true;
    if (!holds(old, kept)) {
      if (old.nodeType !== 1 || old.outerHTML !== fresh.outerHTML) old.replaceWith(fresh);
      return true;
    }
    const a = Array.from(old.childNodes), b = Array.from(fresh.childNodes);
    if (old.nodeName !== fresh.nodeName || !sameShape(a, b)) return transplant(old, fresh, kept);
    Array.from(old.attributes).forEach(function (at) {
      if (!fresh.hasAttribute(at.name)) old.removeAttribute(at.name);
    });
    Array.from(fresh.attributes).forEach(function (at) {
      if (old.getAttribute(at.name) !== at.value) old.setAttribute(at.name, at.value);
    });
    let ok = true;
    a.forEach(function (child, i) {
      if (child.nodeType === 1) ok = patch(child, b[i], kept) && ok;
      else if (child.nodeValue !== b[i].nodeValue) child.nodeValue = b[i].nodeValue;
    });
    return ok;
  }

  // The shapes differ: take the fresh element whole and move the kept nodes
  // into it in place of their twins, then give the focus and caret back.
  function transplant(old, fresh, kept) {
    const inside = Array.from(kept.keys()).filter(function (n) { return old.contains(n); });
    const lost = inside.some(function (n) { return n.tagName === "FORM" && !kept.get(n); });
    if (lost) return false;  // a form being typed into has no place in the fresh page: wait
    const active = document.activeElement;
    const caret = active && "selectionStart" in active
      ? [active.selectionStart, active.selectionEnd, active.scrollTop] : null;
    inside.forEach(function (n) {
      const twin = kept.get(n);
      if (twin && fresh.contains(twin)) twin.replaceWith(n);
    });
    old.replaceWith(fresh);
    if (active && active !== document.body && fresh.contains(active) && document.activeElement !== active) {
      active.focus({ preventScroll: true });
      if (caret) {
        try { active.setSelectionRange(caret[0], caret[1]); } catch (ignored) { /* not text */ }
        active.scrollTop = caret[2];
      }
    }
    return true;
  }

  // What the user opened or closed (<details>) stays so: by id, else by its summary.
  function disclosures(root) {
    const found = new Map();
    root.querySelectorAll("details").forEach(function (d) {
      const summary = d.querySelector("summary");
      let key = d.id || (d.className + ":" + (summary ? summary.textContent.trim() : ""));
      while (found.has(key)) key += "+";
      found.set(key, d);
    });
    return found;
  }

  let pageAsked = 0;
  let waiting = false;  // a region was left alone for a form being typed into
  async function refreshPage() {
    const regions = regionsOf(document);
    const mine = ++pageAsked;
    const sources = Array.from(new Set(regions.map(sourceOf)));
    const docs = {};
    await Promise.all(sources.map(async function (url) {
      const answer = await fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (answer.ok) docs[url] = new DOMParser().parseFromString(await answer.text(), "text/html");
    }));
    if (mine !== pageAsked) return null;  // a newer look is under way
    const done = new Set();
    livePartsOf(document).forEach(function (el) {
      const doc = docs[sourceOf(el)];
      const fresh = doc && el.id && doc.getElementById(el.id);
      // a copy: the fresh page keeps its own, the twin of the live part below
      if (fresh) { applyPart(el, fresh.cloneNode(true)); done.add(el.id); }
    });
    waiting = false;
    regionsOf(document).forEach(function (el) {
      const doc = docs[sourceOf(el)];
      const fresh = doc && el.id && doc.getElementById(el.id);
      if (!fresh) return;
      const opened = new Map();
      disclosures(el).forEach(function (d, key) { opened.set(key, d.open); });
      if (!patch(el, fresh, keepers(el, fresh))) waiting = true;
      const now = document.getElementById(el.id);
      if (now) {
        disclosures(now).forEach(function (d, key) { if (opened.has(key)) d.open = opened.get(key); });
        countdowns(now);
      }
    });
    document.dispatchEvent(new CustomEvent("ledgerdesk:updated", { detail: "regions" }));
    return done;
  }

  // Everything live on this page, brought up to date once.
  function refreshAll() {
    if (regionsOf(document).length) {
      refreshPage().then(function (done) {
        if (done === null) return;
        livePartsOf(document).forEach(function (el) {
          if (!done || !done.has(el.id)) refresh(el).catch(function () {});
        });
      }).catch(function () {});
    } else {
      livePartsOf(document).forEach(function (el) { refresh(el).catch(function () {}); });
    }
  }

  function listen() {
    if (!(livePartsOf(document).length || regionsOf(document).length) || !window.EventSource) return;
    if (document.getElementById("chat")) return;  // the chat listens for itself (chat.js)
    const source = new EventSource("/live");
    let pending = null;
    function soon() {
      if (pending) return;
      pending = setTimeout(function () { pending = null; refreshAll(); }, 50);
    }
    // Changes made between this page's rendering and the stream's opening are
    // not announced: look once when it opens (and again after a reconnect).
    source.addEventListener("open", soon);
    source.addEventListener("change", soon);
    // A region left alone for a form being typed into catches up once the
    // user leaves that form.
    document.addEventListener("focusout", function () { if (waiting) soon(); });
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
