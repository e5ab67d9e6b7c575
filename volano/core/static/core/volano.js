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
})();
