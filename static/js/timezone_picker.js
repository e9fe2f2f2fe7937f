/* Time-zone pickers (apps/core/timezone_field.py): a search box that narrows the grouped
   list, and the browser's zone when nothing was chosen yet. The <select> works alone. */
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return "";
    }
  }

  function normalize(text) {
    return text.toLowerCase().replace(/[_/]/g, " ");
  }

  function filter(select, query) {
    var words = normalize(query).split(/\s+/).filter(Boolean);
    var firstMatch = null;
    Array.prototype.forEach.call(select.querySelectorAll("option"), function (option) {
      var group = option.parentNode.tagName === "OPTGROUP" ? option.parentNode.label : "";
      var haystack = normalize(option.value + " " + option.textContent + " " + group);
      var match = words.every(function (word) {
        return haystack.indexOf(word) !== -1;
      });
      option.hidden = !match;
      if (match && !firstMatch) firstMatch = option;
    });
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
    // The choice follows the search, so typing a place and sending the form picks it.
    if (firstMatch && words.length && select.selectedOptions[0] && select.selectedOptions[0].hidden) {
      select.value = firstMatch.value;
    }
  }

  function enhance(select) {
    if (select.hasAttribute("data-timezone-enhanced")) return;
    select.setAttribute("data-timezone-enhanced", "");
    if (select.hasAttribute("data-browser-default")) {
      var zone = browserZone();
      if (zone && select.querySelector('option[value="' + zone.replace(/"/g, "") + '"]')) {
        select.value = zone;
      }
    }
    var search = document.createElement("input");
    search.type = "search";
    search.className = "timezone-search";
    search.setAttribute("aria-label", select.getAttribute("data-search-label") || "Find a city or region");
    search.setAttribute("placeholder", select.getAttribute("data-search-label") || "Find a city or region");
    search.setAttribute("aria-controls", select.id);
    search.addEventListener("input", function () {
      filter(select, search.value);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") event.preventDefault(); // searching never sends the form
    });
    select.parentNode.insertBefore(search, select);
  }

  function enhanceAll() {
    document.querySelectorAll("select[data-timezone-picker]").forEach(enhance);
  }

  document.addEventListener("DOMContentLoaded", enhanceAll);
  document.addEventListener("htmx:afterSettle", enhanceAll);
  if (document.readyState !== "loading") enhanceAll();
})();
