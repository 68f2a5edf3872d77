// Ledgerdesk chat widget: put
//   <script src="https://YOUR-DESK/static/widget.js" defer></script>
// on a page; it adds a button that opens the desk's chat in a frame (nothing
// of the host page is read, and the chat runs on the desk's own origin).
(function () {
  "use strict";
  const me = document.currentScript;
  const desk = new URL(me.src).origin;
  const lang = me.getAttribute("data-lang") || "";
  document.addEventListener("DOMContentLoaded", function () {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "ld-chat-launcher";
    button.textContent = me.getAttribute("data-label") || "Chat / 在线客服";
    button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483000;padding:10px 16px;border-radius:20px;border:none;background:#1f5fbf;color:#fff;font:14px sans-serif;cursor:pointer";
    let frame = null;
    button.addEventListener("click", function () {
      if (frame) { frame.hidden = !frame.hidden; return; }
      frame = document.createElement("iframe");
      frame.src = desk + "/chat/widget" + (lang ? "?lang=" + encodeURIComponent(lang) : "");
      frame.title = "Chat";
      frame.style.cssText = "position:fixed;right:20px;bottom:70px;width:360px;height:520px;max-height:80vh;border:1px solid #ccc;border-radius:8px;background:#fff;z-index:2147483000";
      document.body.appendChild(frame);
    });
    document.body.appendChild(button);
  });
})();
