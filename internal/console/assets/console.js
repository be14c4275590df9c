// heed console: small progressive enhancements. Every page works without
// this file; it only localises times and asks before destructive posts.
(function () {
  "use strict";
  var fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"
  });
  function localise(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) { el.textContent = fmt.format(d); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    localise(document);
    // Form posts marked data-confirm ask first.
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
    document.querySelectorAll("a[data-back]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        if (window.history.length > 1) { e.preventDefault(); window.history.back(); }
      });
    });
    // The "state at" picker sends the chosen local time as a UTC instant.
    document.querySelectorAll("input[data-utc-target]").forEach(function (el) {
      var target = document.getElementById(el.getAttribute("data-utc-target"));
      var initial = target && target.value ? new Date(target.value) : null;
      if (initial && !isNaN(initial)) {
        var off = initial.getTimezoneOffset() * 60000;
        el.value = new Date(initial.getTime() - off).toISOString().slice(0, 19);
      }
      el.addEventListener("change", function () {
        var d = new Date(el.value);
        if (target && !isNaN(d)) { target.value = d.toISOString(); }
      });
    });
  });
})();
