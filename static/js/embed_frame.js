/* Inside the booking frame (templates/booking_site/embed_base.html): tells the page
   around it how tall the booking pages are, so that it can size the frame
   (static/js/embed.js). The height goes only to the embedding site, and only when that
   site is one the business lists (body[data-embed-origins]); the browser has already
   refused every other site (frame-ancestors). */
(function () {
  "use strict";

  if (window.parent === window) return;

  // Each listed site is an exact origin (apps/accounts/embed_origins.py: no wildcard).
  function listed(origin) {
    var origins = (document.body.getAttribute("data-embed-origins") || "").split(" ");
    return origins.some(function (entry) {
      return entry !== "" && entry === origin;
    });
  }

  // Who frames us: the browser says so (location.ancestorOrigins), else the snippet
  // named its page in the frame's name, which stays across the frame's pages.
  function parentOrigin() {
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length) return ancestors[0];
    var name = window.name || "";
    return name.indexOf("timenest:") === 0 ? name.slice("timenest:".length) : "";
  }

  function start() {
    var target = parentOrigin();
    var root = document.querySelector("[data-embed-root]");
    if (!target || !root || !listed(target)) return;
    var last = -1;
    function post() {
      var height = Math.ceil(root.getBoundingClientRect().height);
      if (height === last) return;
      last = height;
      window.parent.postMessage({ type: "timenest:height", height: height }, target);
    }
    if ("ResizeObserver" in window) {
      new ResizeObserver(post).observe(root);
    } else {
      window.addEventListener("load", post);
      document.addEventListener("htmx:afterSettle", post);
    }
    post();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
