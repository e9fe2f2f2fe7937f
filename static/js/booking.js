/* Booking pages: the visitor's time zone, the hold countdown, and focus and
   announcements after htmx swaps. Every page works without this file. */
(function () {
  "use strict";

  function hasCookie(name) {
    return document.cookie.split("; ").some(function (part) {
      return part.indexOf(name + "=") === 0;
    });
  }

  // The server shows the business's zone until it knows the visitor's; the first page
  // stores the browser's zone, and a page showing times reloads once to use it.
  function rememberZone() {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return;
    }
    if (!zone || hasCookie("tz")) return;
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    if (!hasCookie("tz")) return; // cookies are off: reloading would not help, only loop
    var flow = document.getElementById("flow");
    var shown = flow && flow.getAttribute("data-zone");
    var explicit = new URLSearchParams(window.location.search).has("tz");
    if (shown && shown !== zone && flow.hasAttribute("data-zone-adjustable") && !explicit) {
      window.location.reload();
    }
  }

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  function tick() {
    document.querySelectorAll("[data-expires-at]").forEach(function (timer) {
      var output = timer.querySelector("[data-countdown]");
      var until = Date.parse(timer.getAttribute("data-expires-at"));
      if (!output || isNaN(until)) return;
      var left = Math.round((until - Date.now()) / 1000);
      if (left > 0) {
        output.textContent = Math.floor(left / 60) + ":" + pad(left % 60) + " left";
      } else {
        output.textContent = "The hold has run out.";
        timer.classList.add("expired");
      }
    });
  }

  // After a swap, move focus to the new content and say what changed: htmx replaces
  // #flow, which a screen reader would otherwise not notice.
  function settle() {
    var flow = document.getElementById("flow");
    if (!flow) return;
    var target = flow.querySelector("[data-focus]") || flow.querySelector("h1");
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
    var region = document.getElementById("announcer");
    var announce = flow.querySelector("[data-announce]");
    if (region) {
      region.textContent = announce
        ? announce.getAttribute("data-announce")
        : target
          ? target.textContent.trim()
          : "";
    }
    tick();
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "flow") settle();
  });
  document.addEventListener("htmx:historyRestore", settle);
  document.addEventListener("DOMContentLoaded", function () {
    rememberZone();
    tick();
    window.setInterval(tick, 1000);
  });
})();
