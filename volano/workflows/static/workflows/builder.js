/* The workflow builder (workflows/builder/page.html): the builder column is swapped by HTMX
   (hx-boost); after each swap the condition builders in it are mounted and the form that opened
   takes the focus, so keyboard and screen-reader users land where they are working. */
(function () {
  "use strict";
  function settle(root) {
    if (window.VolanoConditionBuilder) {
      root.querySelectorAll("[data-condition-builder]").forEach(function (node) {
        if (!node.dataset.mounted) {
          node.dataset.mounted = "1";
          window.VolanoConditionBuilder.mount(node);
        }
      });
    }
    var form = root.querySelector("[data-testid=step-form], .wfb-adding, .wfb-form");
    if (form) {
      var first = form.querySelector("select, input:not([type=hidden]), textarea, a.wfb-kind");
      if (first) first.focus({ preventScroll: false });
    }
  }
  // a form with a "mode" shows only the fields of the chosen mode (without JavaScript all show)
  function modes(root) {
    var forms = root.tagName === "FORM" ? [root] : root.querySelectorAll("form");
    Array.prototype.forEach.call(forms, function (form) {
      if (!form.querySelector("input[name=mode]")) return;
      var chosen = form.querySelector("input[name=mode]:checked");
      form.querySelectorAll("[data-modes]").forEach(function (input) {
        var box = input.closest("fieldset, .field") || input;
        var shown = chosen && input.dataset.modes.split(" ").indexOf(chosen.value) >= 0;
        box.style.display = shown ? "" : "none";  // (a CSS display rule would beat `hidden`)
      });
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "mode") modes(event.target.form || document);
  });
  document.addEventListener("htmx:afterSettle", function () {
    modes(document);
  });
  document.addEventListener("DOMContentLoaded", function () {
    modes(document);
    // builder.js (conditions) mounted the first page's builders itself
    document.querySelectorAll("[data-condition-builder]").forEach(function (node) {
      node.dataset.mounted = "1";
    });
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "wf-builder") settle(document.getElementById("wf-builder"));
  });
})();
