/* Small behaviours the templates ask for with data- attributes, since the Content-Security-Policy
   runs no inline handler (onchange=…): listened for on the document, so content HTMX swaps in
   works too. */
(function () {
  "use strict";
  function closest(node, selector) {
    return node && node.closest ? node.closest(selector) : null;
  }

  // <select data-submit-on-change>: choosing an option submits its form (filters).
  document.addEventListener("change", function (event) {
    var field = closest(event.target, "[data-submit-on-change]");
    if (field && field.form) field.form.submit();
  });

  // <button data-copy="#id" data-copied="Copied" data-copy-failed="Press Ctrl+C…"
  // aria-describedby="status-id">: copies the text of #id to the clipboard and says so in the
  // status element the button describes itself with (role="status", so it is read out too).
  // Without the clipboard API (a page served over plain http on another host) the text is
  // copied by selecting it, and stays selected for Ctrl+C when even that is refused.
  function copied(button, ok) {
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    if (!status) return;
    status.textContent = ok ? button.dataset.copied : button.dataset.copyFailed;
    status.classList.toggle("failed", !ok);
    clearTimeout(button.copyTimer);
    button.copyTimer = setTimeout(function () { status.textContent = ""; }, 4000);
  }
  function copyBySelecting(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { return document.execCommand("copy"); } catch (error) { return false; }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    var text = source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { copied(button, true); },
        function () { copied(button, copyBySelecting(source)); }
      );
    } else {
      copied(button, copyBySelecting(source));
    }
  });

  // <input data-live-search>: the list already follows what is typed (one request once typing
  // pauses); Enter would send the same search a second time, so it only waits for that one.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && closest(event.target, "[data-live-search]")) {
      event.preventDefault();
    }
  });

  // <form data-bulk>: tick rows ([data-bulk-row]), the whole page ([data-bulk-page]) or every
  // contact the filters match ([data-bulk-all] sets [data-bulk-scope] to "all").
  function bulkState(form) {
    var rows = form.querySelectorAll("[data-bulk-row]");
    var ticked = form.querySelectorAll("[data-bulk-row]:checked").length;
    var scope = form.querySelector("[data-bulk-scope]");
    var count = form.querySelector("[data-bulk-count]");
    var offer = form.querySelector("[data-bulk-all-offer]");
    var page = form.querySelector("[data-bulk-page]");
    if (scope && ticked < rows.length) scope.value = "ids";
    var all = scope && scope.value === "all";
    if (page) {
      page.checked = rows.length > 0 && ticked === rows.length;
      page.indeterminate = ticked > 0 && ticked < rows.length;
    }
    if (offer) offer.hidden = all || ticked !== rows.length;
    form.classList.toggle("has-picks", ticked > 0);
    if (count) {
      var text = count.getAttribute("data-none");
      if (all) text = count.getAttribute("data-all");
      else if (ticked === 1) text = count.getAttribute("data-one");
      else if (ticked > 1) text = (count.getAttribute("data-many") || "").replace("{n}", ticked);
      count.textContent = text;
    }
  }
  document.addEventListener("change", function (event) {
    var form = closest(event.target, "form[data-bulk]");
    if (!form) return;
    if (event.target.matches("[data-bulk-page]")) {
      form.querySelectorAll("[data-bulk-row]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("[data-bulk-page], [data-bulk-row]")) bulkState(form);
  });
  document.addEventListener("click", function (event) {
    var button = closest(event.target, "[data-bulk-all]");
    var form = closest(button, "form[data-bulk]");
    if (!form) return;
    form.querySelectorAll("[data-bulk-row]").forEach(function (box) {
      box.checked = true;
    });
    form.querySelector("[data-bulk-scope]").value = "all";
    bulkState(form);
  });
})();
