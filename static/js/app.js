/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");

  function focusErrorSummary(root) {
    var summary = (root || document).querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    focusErrorSummary(document);
  });

  // After htmx swaps in a page or a form with a summary (a failed submit), move focus to it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.querySelector && target.querySelector("[data-error-summary]")) {
      focusErrorSummary(target);
    }
  });

  // A boosted link or form (the console) answered with an error page (an expired screen, a
  // refused action, a server error): show that page, as a browser without JavaScript would,
  // instead of leaving the click without any visible answer. Fragments (inline checks) keep
  // htmx's default and swap nothing on an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail || {};
    if (detail.boosted && detail.xhr && detail.xhr.status >= 400) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  // Inline checks (templates/macros/form.html.jinja2): htmx swaps only the field's message.
  // The field's state for assistive technology (aria-invalid, aria-describedby) and its error
  // style follow the server's rendering of the field, copied here without replacing the
  // control. A value the server normalised is taken only if the person has not changed the
  // field since the check left and is not in it (so neither the value nor the caret moves).
  var SYNCED = ["aria-invalid", "aria-describedby"];
  var sentValues = new WeakMap();
  var synced = new WeakSet();

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.hasAttribute && elt.hasAttribute("data-inline-check")) {
      sentValues.set(elt, elt.value);
    }
  });

  function syncField(elt, html) {
    var live = elt.closest(".field");
    if (!live || !live.id) {
      return;
    }
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(live.id);
    if (!fresh) {
      return;
    }
    var invalid = fresh.classList.contains("field--error");
    live.classList.toggle("field--error", invalid);
    // A field that is right now silences the live region only if it still holds its message.
    var region = document.getElementById("live-region");
    var name = live.id.replace(/-field$/, "");
    if (!invalid && region && region.querySelector('[data-live-for="' + CSS.escape(name) + '"]')) {
      region.textContent = "";
    }
    var liveState = live.querySelector("[data-field-state]");
    var freshState = fresh.querySelector("[data-field-state]");
    if (liveState && freshState) {
      SYNCED.forEach(function (name) {
        var value = freshState.getAttribute(name);
        if (value === null) {
          liveState.removeAttribute(name);
        } else if (liveState.getAttribute(name) !== value) {
          liveState.setAttribute(name, value);
        }
      });
    }
    var freshControl = elt.id && fresh.querySelector("#" + CSS.escape(elt.id));
    var normalised = freshControl && freshControl.getAttribute("value");
    if (
      elt.type !== "radio" && elt.tagName === "INPUT" && normalised !== null &&
      elt.value === sentValues.get(elt) && elt.value !== normalised &&
      document.activeElement !== elt
    ) {
      elt.value = normalised;
    }
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var detail = event.detail || {};
    var elt = detail.requestConfig && detail.requestConfig.elt;
    var xhr = detail.xhr;
    if (!elt || !xhr || synced.has(xhr) || !elt.hasAttribute("data-inline-check")) {
      return;
    }
    synced.add(xhr);
    syncField(elt, xhr.responseText);
  });

  // Drag and drop onto a file input's zone puts the files into the input; the form still
  // posts as without JavaScript.
  document.addEventListener("dragover", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) {
      event.preventDefault();
      zone.classList.add("dropzone--over");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (zone) {
      zone.classList.remove("dropzone--over");
    }
  });
  document.addEventListener("drop", function (event) {
    var zone = event.target.closest && event.target.closest("[data-dropzone]");
    if (!zone || !event.dataTransfer || !event.dataTransfer.files.length) {
      return;
    }
    event.preventDefault();
    zone.classList.remove("dropzone--over");
    var input = zone.querySelector("input[type=file]");
    if (input) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
})();
