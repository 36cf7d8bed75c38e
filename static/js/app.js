// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Remember the browser's time zone so times and custom windows use it.
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("tz=" + encodeURIComponent(tz)) === -1) {
      document.cookie = "tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* older browsers: server time zone */ }

  // Records filters: a custom window needs both ends before it is worth asking the API.
  // Runs in the capture phase, so a change that is not ready never reaches htmx.
  document.addEventListener("change", function (event) {
    var field = event.target;
    var form = field.form;
    var win = form && form.elements.namedItem("window");
    if (!win || !(field === win || field.name === "start" || field.name === "end")) return;
    var start = form.elements.namedItem("start");
    var end = form.elements.namedItem("end");
    if (field !== win && win.value !== "custom") win.value = "custom";
    if (field === win && win.value !== "custom") {
      start.value = "";
      end.value = "";
      return;
    }
    if (!start.value || !end.value) {
      event.stopPropagation();
      (start.value ? end : start).focus();
    }
  }, true);

  // Filter forms send only the filters that are set, so pushed URLs stay short and shareable
  // (?stream=room rather than ?stream=room&app=&domain=&…).
  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (detail.verb !== "get" || !detail.formData) return;
    var empty = [];
    detail.formData.forEach(function (value, key) { if (value === "") empty.push(key); });
    empty.forEach(function (key) { detail.formData.delete(key); });
  });

  // "Back" on an error page goes back when there is somewhere to go back to.
  document.addEventListener("click", function (event) {
    var back = event.target.closest("a[data-back]");
    if (back && window.history.length > 1) {
      event.preventDefault();
      window.history.back();
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (button) {
      var target = document.getElementById(button.dataset.copyTarget);
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent).then(function () {
          var label = button.textContent;
          button.textContent = "✓";
          setTimeout(function () { button.textContent = label; }, 1200);
        }, function () {});
      }
      return;
    }
    var sort = event.target.closest("button.sort");
    if (sort) {
      var table = sort.closest("table");
      var col = parseInt(sort.dataset.sortCol, 10);
      var body = table.tBodies[0];
      var desc = sort.dataset.dir !== "desc";
      sort.dataset.dir = desc ? "desc" : "asc";
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var av = parseFloat((a.cells[col] && a.cells[col].dataset.value) || "-1");
        var bv = parseFloat((b.cells[col] && b.cells[col].dataset.value) || "-1");
        return desc ? bv - av : av - bv;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    }
  });
})();
