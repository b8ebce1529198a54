// Records every uncaught error and unhandled promise rejection in #js-errors
// (shown to the user as a red strip, and read by the browser test), instead
// of leaving them in the console only. A classic script, loaded before
// the modules, so a module that fails to load is caught too.
(function () {
  "use strict";
  var pending = [];
  function record(text) {
    var el = document.getElementById("js-errors");
    if (!el) {
      pending.push(text);
      return;
    }
    var n = Number(el.getAttribute("data-count") || "0") + 1;
    el.setAttribute("data-count", String(n));
    el.textContent += text + "\n";
    el.hidden = false;
  }
  window.jcmRecordError = record;
  window.addEventListener("error", function (ev) {
    // Resource load failures (an <img>, a <script>) carry a target, not a message.
    if (ev.target && ev.target !== window && (ev.target.src || ev.target.href)) {
      record("failed to load " + (ev.target.src || ev.target.href));
      return;
    }
    var where = ev.filename ? " (" + ev.filename + ":" + ev.lineno + ")" : "";
    record("error: " + (ev.message || String(ev.error)) + where);
  }, true);
  window.addEventListener("unhandledrejection", function (ev) {
    var r = ev.reason;
    record("unhandled rejection: " + (r && r.stack ? r.stack : String(r)));
  });
  document.addEventListener("DOMContentLoaded", function () {
    pending.splice(0).forEach(record);
  });
})();
