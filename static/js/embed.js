/* The booking widget for a business's own website. The snippet from the dashboard:

     <div data-timenest="https://acme.example.com/" data-service="…" data-resource="…"></div>
     <script src="https://acme.example.com/static/js/embed.js" defer></script>

   Each element with data-timenest becomes a frame showing the booking pages under
   /embed/ (with the service, and the person or room, already chosen when given), and
   the frame's height follows its content: the frame posts it (embed_frame.js), and only
   messages from that frame's own window and origin are heard. No dependencies. */
(function () {
  "use strict";

  var NAME_PREFIX = "timenest:";

  function frameUrl(element) {
    var base;
    try {
      base = new URL(element.getAttribute("data-timenest"), window.location.href);
    } catch (error) {
      return null;
    }
    if (base.protocol !== "https:" && base.protocol !== "http:") return null;
    var path = "/embed/";
    var service = element.getAttribute("data-service");
    var resource = element.getAttribute("data-resource");
    if (service) {
      path += "book/" + encodeURIComponent(service) + "/";
      if (resource) path += encodeURIComponent(resource) + "/";
    }
    return new URL(path, base.origin);
  }

  function mount(element) {
    if (element.getAttribute("data-timenest-mounted")) return;
    var url = frameUrl(element);
    if (!url) return;
    element.setAttribute("data-timenest-mounted", "true");
    var frame = document.createElement("iframe");
    frame.src = url.href;
    // The frame's pages find the page's origin here (embed_frame.js) where the browser
    // does not tell them (no location.ancestorOrigins).
    frame.name = NAME_PREFIX + window.location.origin;
    frame.title = element.getAttribute("data-title") || "Book an appointment";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.display = "block";
    frame.style.height = (element.getAttribute("data-height") || "640") + "px";
    element.appendChild(frame);

    window.addEventListener("message", function (event) {
      if (event.origin !== url.origin || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || data.type !== "timenest:height") return;
      var height = Number(data.height);
      if (!isFinite(height) || height <= 0 || height > 20000) return;
      frame.style.height = Math.ceil(height) + "px";
    });
  }

  function mountAll() {
    document.querySelectorAll("[data-timenest]").forEach(mount);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
