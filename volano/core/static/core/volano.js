/* Small behaviours the templates ask for with data- attributes, since the Content-Security-Policy
   runs no inline handler (onchange=…): listened for on the document, so content HTMX swaps in
   works too. */
(function () {
  "use strict";
  // <select data-submit-on-change>: choosing an option submits its form (filters).
  document.addEventListener("change", function (event) {
    var field = event.target.closest ? event.target.closest("[data-submit-on-change]") : null;
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
})();
