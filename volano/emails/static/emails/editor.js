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

    // GrapesJS's own panel buttons name Font Awesome icons (fa-eye, …), and Font Awesome is not
    // loaded (its CDN is outside the CSP): without these they are blank squares
    var ICONS = {
      "fa-square-o": '<rect x="4" y="4" width="16" height="16" fill="none" stroke="currentColor" stroke-width="2" stroke-dasharray="3 2"/>',
      "fa-eye": '<path d="M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="12" cy="12" r="3" fill="currentColor"/>',
      "fa-arrows-alt": '<path d="M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5" fill="none" stroke="currentColor" stroke-width="2"/>',
      "fa-code": '<path d="M8 7l-5 5 5 5M16 7l5 5-5 5" fill="none" stroke="currentColor" stroke-width="2"/>',
      "fa-paint-brush": '<path d="M14 4l6 6-7 7-6-6z" fill="currentColor"/><path d="M6 12c-2 1-3 3-3 6v2h2c3 0 5-1 6-3" fill="none" stroke="currentColor" stroke-width="2"/>',
      "fa-cog": '<path d="M4 6h16M4 12h16M4 18h16" stroke="currentColor" stroke-width="2"/><circle cx="8" cy="6" r="2.5" fill="currentColor"/><circle cx="16" cy="12" r="2.5" fill="currentColor"/><circle cx="10" cy="18" r="2.5" fill="currentColor"/>',
      "fa-bars": '<path d="M12 3l9 5-9 5-9-5z" fill="currentColor"/><path d="M3 12l9 5 9-5M3 16l9 5 9-5" fill="none" stroke="currentColor" stroke-width="2"/>',
      "fa-th-large": '<rect x="3" y="3" width="8" height="8" fill="currentColor"/><rect x="13" y="3" width="8" height="8" fill="currentColor"/><rect x="3" y="13" width="8" height="8" fill="currentColor"/><rect x="13" y="13" width="8" height="8" fill="currentColor"/>',
    };

    function drawIcons(ed) {
      ed.Panels.getPanels().forEach(function (panel) {
        panel.get("buttons").forEach(function (button) {
          var classes = (button.get("className") || "").split(/\s+/);
          var icon = classes.filter(function (c) { return ICONS[c]; })[0];
          if (!icon || button.get("label")) return;
          button.set("className", classes.filter(function (c) { return c !== "fa" && c !== icon; }).join(" "));
          button.set("label", '<svg viewBox="0 0 24 24" aria-hidden="true">' + ICONS[icon] + "</svg>");
        });
      });
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
      drawIcons(editor);
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
