// Starts the vendored Swagger UI on /api/v1/docs with the settings the page carries as JSON
// (no inline script, so a script-src 'self' policy holds).
(function () {
  var config = JSON.parse(document.getElementById("swagger-settings").textContent);
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis];
  window.ui = SwaggerUIBundle(config);
})();
