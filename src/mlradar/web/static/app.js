"use strict";
// Progressive enhancement: every action is a plain form that works without JavaScript;
// here it is sent with fetch() and the row changes in place.  Keys: j/k move, o opens,
// s saves to a tag, x dismisses, / searches, ? lists the keys.
(function () {
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function rowOf(el) { return el.closest(".row"); }

  function applied(form, action, data) {
    var row = rowOf(form);
    var status = form.parentElement.querySelector(".status");
    if (status) status.textContent = action === "tag" ? "saved" : action + " ✓";
    if (!row) return;
    if (action === "dismiss") row.classList.add("dismissed");
    if (action === "read") row.classList.add("is-read");
    if (action === "unread") row.classList.remove("is-read");
    if (action === "like") row.classList.add("liked");
    if (action === "clear") row.classList.remove("liked");
    if (action === "tag" && data && data.tag) {
      var tags = row.querySelector(".tags");
      if (tags) {
        var chip = document.createElement("span");
        chip.className = "chip";
        chip.textContent = data.tag;
        tags.appendChild(chip);
      }
      var input = form.querySelector(".tag-input");
      if (input) { input.value = ""; input.blur(); }
    }
    if (form.classList.contains("done-form")) row.classList.toggle("done");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("act")) return;
    event.preventDefault();
    var body = new FormData(form, event.submitter || undefined);
    var action = body.get("action") || (form.classList.contains("done-form") ? "done" : "");
    // getAttribute: the form's field named "action" shadows the form.action property.
    fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.detail || response.statusText);
        applied(form, String(action), data);
      });
    }).catch(function (error) {
      var status = form.parentElement.querySelector(".status");
      if (status) status.textContent = "error: " + error.message;
    });
  });

  // A paper's related papers: ranking the corpus takes a moment, so the page asks for them
  // after it is shown (without JavaScript, the link opens them on their own page).
  var related = document.getElementById("related");
  if (related && window.fetch) {
    var list = related.querySelector(".related-list");
    list.textContent = "finding papers like this one…";
    fetch("/api/v1/related/" + encodeURIComponent(related.dataset.ref) + "?limit=8", {
      credentials: "same-origin", headers: { "Accept": "application/json" },
    }).then(function (response) {
      return response.json().then(function (data) {
        list.textContent = "";
        if (!response.ok) { list.textContent = data.detail || "no related papers"; return; }
        data.items.forEach(function (rec) {
          var p = document.createElement("p");
          var a = document.createElement("a");
          a.href = "/paper/" + encodeURIComponent(rec.arxiv_id || "");
          a.textContent = rec.title;
          var why = document.createElement("span");
          why.className = "meta";
          why.textContent = " " + rec.reason;
          p.appendChild(a);
          p.appendChild(why);
          list.appendChild(p);
        });
      });
    }).catch(function () { list.textContent = ""; });
  }

  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll("main .row")); };
  var current = -1;

  function select(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (r, i) { r.classList.toggle("selected", i === current); });
    all[current].scrollIntoView({ block: "nearest" });
  }

  function selected() {
    var all = rows();
    if (current < 0 && all.length === 1) current = 0;
    return current >= 0 ? all[current] : null;
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target instanceof HTMLElement && target.closest("input, textarea, select")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    var row = selected();
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "o":
        if (row) {
          var link = row.querySelector("a.open");
          if (link) window.location.href = link.href;
        }
        break;
      case "s":
        if (row) {
          var input = row.querySelector(".tag-input");
          if (input) { event.preventDefault(); input.focus(); }
        }
        break;
      case "x":
        if (row) {
          var dismiss = row.querySelector("button.dismiss");
          if (dismiss) dismiss.click();
        }
        break;
      case "/":
        var q = document.getElementById("q");
        if (q) { event.preventDefault(); q.focus(); }
        break;
      case "?":
        var keys = document.getElementById("keys");
        if (keys) keys.hidden = !keys.hidden;
        break;
      default: return;
    }
  });
})();
