// The customer's signature on a service report: drawn on a canvas with a finger,
// a pen or a mouse (pointer events cover all three), sent as a PNG data URL in
// the form's hidden field when the form is submitted.  No inline script (CSP).
(function () {
  "use strict";

  function setUp(canvas) {
    var field = document.getElementById(canvas.dataset.signatureFor);
    if (!field || canvas.dataset.ready) { return; }
    canvas.dataset.ready = "1";
    var ctx = canvas.getContext("2d");
    var drawing = false, drawn = false, last = null;

    function pen() {
      ctx.lineWidth = 2.5;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#111";
    }
    pen();

    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * (canvas.width / box.width),
        y: (event.clientY - box.top) * (canvas.height / box.height)
      };
    }

    canvas.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      try { canvas.setPointerCapture(event.pointerId); } catch (ignored) { /* synthetic */ }
      drawing = true;
      last = point(event);
      ctx.beginPath();
      ctx.arc(last.x, last.y, 1.2, 0, Math.PI * 2);
      ctx.fillStyle = "#111";
      ctx.fill();
      drawn = true;
      canvas.dataset.drawn = "1";  // a live refresh leaves this form alone (app.js)
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) { return; }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) { events = [event]; }
      for (var i = 0; i < events.length; i++) {
        var next = point(events[i]);
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(next.x, next.y);
        ctx.stroke();
        last = next;
      }
      drawn = true;
    });
    function stop() { drawing = false; last = null; }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    canvas.addEventListener("pointerleave", stop);

    var clear = document.querySelector('[data-signature-clear="' + field.id + '"]');
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
        pen();
        drawn = false;
        delete canvas.dataset.drawn;
        field.value = "";
      });
    }
    var form = canvas.closest("form");
    if (form) {
      form.addEventListener("submit", function () {
        field.value = drawn ? canvas.toDataURL("image/png") : "";
      });
    }
  }

  function start() {
    var pads = document.querySelectorAll("canvas[data-signature-for]");
    for (var i = 0; i < pads.length; i++) { setUp(pads[i]); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  // a pad brought in by a live refresh (app.js) is set up too
  document.addEventListener("ledgerdesk:updated", start);
})();
