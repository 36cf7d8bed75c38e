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
        // the text as it is: a box showing an invisible character ("U+202E") copies the
        // character itself
        var copy = target.cloneNode(true);
        copy.querySelectorAll(".ctl[data-char]").forEach(function (box) {
          box.replaceWith(box.dataset.char);
        });
        navigator.clipboard.writeText(copy.textContent).then(function () {
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

// Filter forms and their results: one request at a time (hx-sync "queue last" on the form),
// and always what the URL says.
// - A page or sort link of the results asks through the form (data-form; data-set, the
//   fields it sets, as a query string: "page=2", "sort=name&page="): with the fields as
//   they are now (typed a moment ago, their blur's own request queued first), so the page
//   shown is a page of what the fields say, and no click is lost to a swap.
// - A form never asks again for exactly what the page already shows (typing, then choosing a
//   window: the field's change on blur repeats the typing's own request).
(function () {
  "use strict";
  function submitWith(form, values) {
    if (!window.htmx) return false;
    var fields = [];
    values.forEach(function (value, name) { fields.push([form.elements.namedItem(name), value]); });
    if (fields.some(function (pair) { return !pair[0]; })) return false;  // the link's own href
    fields.forEach(function (pair) { pair[0].value = pair[1]; });
    window.htmx.trigger(form, "submit");
    return true;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-form][data-set]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button) return;
    var form = document.getElementById(link.dataset.form);
    if (form && submitWith(form, new URLSearchParams(link.dataset.set))) event.preventDefault();
  });
  document.addEventListener("submit", function (event) {
    var jump = event.target;
    if (!jump.matches || !jump.matches("form.jump[data-form]")) return;
    var form = document.getElementById(jump.dataset.form);
    var page = new URLSearchParams({page: jump.elements.namedItem("page").value});
    if (form && submitWith(form, page)) event.preventDefault();
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.matches || !form.matches("form.filters")) return;
    var field = form.elements.namedItem("page");
    if (field && field.type === "hidden") field.value = "";  // used once: the next change starts at page 1
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.matches || !form.matches("form.filters")) return;
    var path = event.detail.pathInfo && event.detail.pathInfo.finalRequestPath;
    if (event.detail.requestConfig.verb === "get" &&
        path === window.location.pathname + window.location.search) {
      event.preventDefault();
    }
  });
})();

// Forms show only the fields that apply to what is chosen (data-show-when="field=a,b"):
// the alert rule editor shows the chosen condition's numbers, the chosen scope's target.
// Without this script every field shows, and the server ignores those that do not apply.
(function () {
  "use strict";
  function update(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (box) {
      var rule = box.dataset.showWhen.split("=");
      var field = form.elements.namedItem(rule[0]);
      if (!field) return;
      var shown = rule[1].split(",").indexOf(field.value) !== -1;
      box.hidden = !shown;
    });
  }
  function init(root) {
    (root || document).querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-show-when]")) update(form);
    });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.querySelector("[data-show-when]")) update(form);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(); });
  } else {
    init();
  }
  // Back, Forward and reload give the fields their earlier values after the page is parsed
  // (or the page itself back from the cache): show what those values choose.
  window.addEventListener("pageshow", function () { init(); });
})();

// A record opened (its details) stays open when the results are swapped for new ones that
// hold it too: a "Details" click that raced a filter change is not lost.
(function () {
  "use strict";
  var open = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "results") return;
    open = Array.prototype.map.call(
      document.querySelectorAll("#results tbody.record[data-record] details[open]"),
      function (details) { return details.closest("tbody").dataset.record; }
    );
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!open.length) return;
    open.forEach(function (id) {
      var details = document.querySelector('#results tbody.record[data-record="' + id + '"] details');
      if (details) details.open = true;
    });
    open = [];
  });
})();

// A form that posts and leaves the page is sent once: a double-clicked Save made two alert
// rules (two messages for every alert), two tokens, two people. The page that answers has
// forms of its own; Back to this one (from the browser's cache) lets it be sent again, and so
// do 10 seconds without an answer (a download leaves the page where it is). htmx forms keep
// their own rules.
(function () {
  "use strict";
  var AGAIN_AFTER_MS = 10000;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    // attributes, not form.method / form.target: a field with that name would shadow them
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") return;
    if (form.hasAttribute("hx-post") || form.getAttribute("target")) return;
    var sentAt = parseInt(form.dataset.sentAt || "0", 10);
    if (Date.now() - sentAt < AGAIN_AFTER_MS) {
      event.preventDefault();
      return;
    }
    form.dataset.sentAt = String(Date.now());
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sent-at]").forEach(function (form) {
      delete form.dataset.sentAt;
    });
  });
})();

// What was typed outlives a sign-in: a form sent after the session ended (30 minutes idle)
// answered with the sign-in page, and the edit was gone. Each form a signed-in page sends is
// kept in this tab (sessionStorage; no password, key, secret or CSRF token) until the next page
// shows: the sign-in page keeps it and says so; the form's own page after signing in gets it
// back, its hidden version too (so a change made meanwhile by someone else is still held, not
// overwritten); any other page means the form had its answer, and it is dropped.
(function () {
  "use strict";
  var KEY = "dashboard:unsent";
  var KEEP_MS = 12 * 3600 * 1000;
  function kept() {
    try { return JSON.parse(window.sessionStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  function keep(value) {
    try {
      if (value) window.sessionStorage.setItem(KEY, JSON.stringify(value));
      else window.sessionStorage.removeItem(KEY);
    } catch (e) { /* storage off or full: nothing kept, as before */ }
  }
  var SECRET = /key|secret|token|password/i;  // an auth key typed in is not kept anywhere
  function skipped(element) {
    return !element.name || element.disabled || SECRET.test(element.name) ||
      ["password", "file", "submit", "button", "reset"].indexOf(element.type) !== -1;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!document.body.hasAttribute("data-signed-in")) return;
    if ((form.getAttribute("method") || "").toLowerCase() !== "post" || form.hasAttribute("data-no-keep")) return;
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (element) {
      if (skipped(element)) return;
      if ((element.type === "checkbox" || element.type === "radio") && !element.checked) return;
      if (element.type === "select-multiple") {
        Array.prototype.forEach.call(element.selectedOptions, function (o) { fields.push([element.name, o.value]); });
        return;
      }
      fields.push([element.name, element.value]);
    });
    // a form with nothing typed in it (Sign out everywhere, Release) loses nothing: not kept,
    // so the sign-in page it may lead to does not say something was
    if (!fields.length) { keep(null); return; }
    keep({page: location.pathname + location.search, action: form.getAttribute("action") || "",
          fields: fields, at: Date.now()});
  }, true);
  function putBack(form, fields) {
    var seen = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (skipped(element)) return;
      var values = fields.filter(function (f) { return f[0] === element.name; }).map(function (f) { return f[1]; });
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = values.indexOf(element.value) !== -1;
      } else if (element.type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (o) { o.selected = values.indexOf(o.value) !== -1; });
      } else {
        var n = seen[element.name] || 0;
        seen[element.name] = n + 1;
        if (n < values.length) element.value = values[n];
      }
      element.dispatchEvent(new Event("input", {bubbles: true}));
    });
  }
  function arrived() {
    var unsent = kept();
    if (!unsent) return;
    var waiting = document.getElementById("kept-note");  // the sign-in page
    if (waiting) {
      if (Date.now() - unsent.at > KEEP_MS) { keep(null); return; }
      waiting.hidden = false;
      unsent.signIn = true;
      unsent.reason = waiting.dataset.reason || "";  // "token": refused, not signed out
      keep(unsent);
      return;
    }
    keep(null);
    if (!unsent.signIn || location.pathname + location.search !== unsent.page) return;
    var note = document.getElementById(unsent.reason === "token" ? "resent-note" : "restored-note");
    if (!note) return;
    function sentForm() {
      return Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
        return (f.getAttribute("method") || "").toLowerCase() === "post" &&
          (f.getAttribute("action") || "") === unsent.action;
      });
    }
    function restore(form) {
      putBack(form, unsent.fields);
      form.insertBefore(note.content.cloneNode(true), form.firstChild);
    }
    var form = sentForm();
    if (form) { restore(form); return; }
    // a form the page opens in place (a domain's Edit): opened again, then filled
    var opener = Array.prototype.find.call(document.querySelectorAll("a[hx-get]"), function (a) {
      return a.getAttribute("hx-get") === unsent.action;
    });
    if (!opener) return;
    document.addEventListener("htmx:afterSettle", function opened() {
      document.removeEventListener("htmx:afterSettle", opened);  // once: the opening's answer
      var shown = sentForm();
      if (shown) restore(shown);
    });
    if (window.htmx) window.htmx.process(opener);  // before htmx's own start: not a navigation
    opener.click();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", arrived);
  else arrived();
})();

// A form sent after its person signed in again elsewhere (another tab: a new CSRF token in the
// cookie, the page's own out of date) was refused with Django's CSRF page, swapped into the
// form by htmx: what was typed was gone. Each POST takes the cookie's token as it goes; one
// refused all the same (no cookie: cleared, blocked) stays as it is, with the reason above it
// (the answer set a new cookie, so sending it again works).
(function () {
  "use strict";
  function cookieToken() {
    var found = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return found ? decodeURIComponent(found[1]) : "";
  }
  document.addEventListener("submit", function (event) {
    var token = cookieToken();
    var field = token && event.target.elements && event.target.elements.namedItem("csrfmiddlewaretoken");
    if (field) field.value = token;
  }, true);
  document.addEventListener("htmx:configRequest", function (event) {
    var token = cookieToken();
    var data = event.detail.formData;
    if (!token || event.detail.verb === "get") return;
    if (data && data.has("csrfmiddlewaretoken")) data.set("csrfmiddlewaretoken", token);
    event.detail.headers["X-CSRFToken"] = token;
  });
  document.addEventListener("form-refused", function (event) {
    var source = event.target;
    var form = (source.closest && source.closest("form")) || source;
    var old = form.querySelector(":scope > .refused");
    if (old) old.remove();
    var note = document.createElement("div");
    note.className = "conflict refused";
    note.setAttribute("role", "alert");
    note.textContent = event.detail && event.detail.value;
    form.insertBefore(note, form.firstChild);
  });
})();

// A link that takes the filters on screen (Export CSV, Resend…), clicked the moment after a
// filter was typed — before the results had asked for it — took the filters of the results
// before: it exported every stream while the box said "flash-sale". It takes the form's own
// as it is clicked (the link's `data-drop` left out, its `data-add` set).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-filters]");
    var form = link && document.getElementById(link.dataset.filters);
    if (!form) return;
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (value !== "") query.append(key, value);
    });
    (link.dataset.drop || "").split(" ").forEach(function (key) { if (key) query.delete(key); });
    new URLSearchParams(link.dataset.add || "").forEach(function (value, key) { query.set(key, value); });
    var search = query.toString();
    link.setAttribute("href", link.pathname + (search ? "?" + search : ""));
  }, true);
})();
