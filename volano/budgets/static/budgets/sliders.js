/* The optimiser's and the what-if's sliders: each range input is paired (data-pair) with the
   text field of the same figure, which is what the form sends. Moving a slider writes its value
   in the field; typing in the field moves the slider. The forms answer on each change (HTMX). */
(function () {
  "use strict";
  function parse(text) {
    var t = String(text || "").replace(/\s|€|%/g, "");
    if (t.indexOf(",") >= 0) t = t.replace(/\./g, "").replace(",", ".");
    var v = parseFloat(t);
    return isNaN(v) ? null : v;
  }
  document.querySelectorAll("input[type=range][data-pair]").forEach(function (slider) {
    var field = slider.form && slider.form.elements.namedItem(slider.dataset.pair);
    if (!field) return;
    slider.addEventListener("input", function () { field.value = slider.value; });
    field.addEventListener("input", function () {
      var v = parse(field.value);
      if (v !== null) slider.value = String(v);
    });
  });
})();
