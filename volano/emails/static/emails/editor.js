/* The email template editor: GrapesJS with its MJML preset (vendored, pinned) over the code
   field, and a code view of the same MJML. The form posts the code field; the visual editor
   writes its MJML into it on every change and before submit. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    var form = document.getElementById("template-form");
    var code = document.getElementById("t-code");
    var container = document.getElementById("gjs");
    var tabVisual = document.getElementById("tab-visual");
    var tabCode = document.getElementById("tab-code");
    var paneVisual = document.getElementById("pane-visual");
    var paneCode = document.getElementById("pane-code");
    var editor = null;

    function toMjml() {
      if (editor) code.value = editor.getHtml();
    }

    function show(visual) {
      if (visual && editor) editor.setComponents(code.value);
      if (!visual) toMjml();
      paneVisual.hidden = !visual;
      paneCode.hidden = visual;
      tabVisual.setAttribute("aria-selected", String(visual));
      tabCode.setAttribute("aria-selected", String(!visual));
      if (visual && editor) editor.refresh();
    }

    if (container && window.grapesjs) {
      editor = window.grapesjs.init({
        container: container,
        height: "640px",
        fromElement: false,
        storageManager: false,
        // no call home to app.grapesjs.com: the CSP refuses it, and a self-hosted tool should not phone out
        telemetry: false,
        components: code.value,
        plugins: [window["grapesjs-mjml"]],
        pluginsOpts: {},
        assetManager: { upload: false },
        cssIcons: "",
      });
      editor.on("update", toMjml);
      window.volanoEmailEditor = editor;
      container.dataset.ready = "1";
    } else if (!container) {
      show(false);
      tabVisual.disabled = true;
    }
    tabVisual.addEventListener("click", function () { show(true); });
    tabCode.addEventListener("click", function () { show(false); });
    form.addEventListener("submit", function () {
      if (!paneVisual.hidden) toMjml();
    });
  });
})();
