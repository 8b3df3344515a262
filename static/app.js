// Lookout dashboard live updates. The server pushes HTML fragments over
// Server-Sent Events; every top-level element of a fragment carries an id and
// replaces the element with the same id (idempotent: a replayed or repeated
// event never duplicates rows). An element that is not on the page is
// inserted into the container named by its data-parent attribute (prepended
// when data-prepend is set), if that container exists on this page.
(function () {
  "use strict";
  if (!window.EventSource) { return; }

  // Fragments of one event are separated by this comment (see
  // web/broadcast.go): each is parsed alone, so table rows stay rows.
  var SEP = "\n<!--fragment-->\n";

  function apply(data) {
    data.split(SEP).forEach(applyOne);
  }

  function applyOne(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var nodes = Array.prototype.slice.call(tpl.content.children);
    nodes.forEach(function (el) {
      if (!el.id) { return; }
      var old = document.getElementById(el.id);
      if (old) {
        old.replaceWith(el);
        return;
      }
      var parentId = el.getAttribute("data-parent");
      if (!parentId) { return; }
      var parent = document.getElementById(parentId);
      if (!parent) { return; }
      if (el.hasAttribute("data-prepend")) {
        parent.insertBefore(el, parent.firstChild);
        var max = parseInt(parent.getAttribute("data-max") || "0", 10);
        while (max > 0 && parent.children.length > max) {
          parent.removeChild(parent.lastElementChild);
        }
      } else {
        parent.appendChild(el);
      }
    });
  }

  // After a reconnect, events may have been missed: fetch the current page
  // and swap its main content, so the page shows the full current state.
  function resync() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (text) {
        if (!text) { return; }
        var doc = new DOMParser().parseFromString(text, "text/html");
        var fresh = doc.querySelector("main");
        var cur = document.querySelector("main");
        if (fresh && cur) { cur.replaceWith(fresh); }
      })
      .catch(function () {});
  }

  var hadError = false;
  var es = new EventSource("/events");
  ["host", "alarm", "notification"].forEach(function (type) {
    es.addEventListener(type, function (e) { apply(e.data); });
  });
  es.addEventListener("open", function () {
    var live = document.getElementById("live");
    if (live) { live.className = "live on"; live.textContent = "live"; }
    if (hadError) { hadError = false; resync(); }
  });
  es.addEventListener("error", function () {
    hadError = true;
    var live = document.getElementById("live");
    if (live) { live.className = "live off"; live.textContent = "reconnecting"; }
  });
})();
