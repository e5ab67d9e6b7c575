// The mapping page sends one field, "mapping" ({"<column number>": "<target>"} of the mapped
// columns), instead of one field per column: a file may have more columns than Django accepts
// fields in a post (DATA_UPLOAD_MAX_NUMBER_FIELDS). Without this script the selects post as
// they are, which works up to that limit.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-import-mapping]")) return;
  const mapping = {};
  const selects = form.querySelectorAll("select[data-column]");
  for (const select of selects) {
    if (select.value) mapping[select.dataset.column] = select.value;
  }
  let field = form.querySelector("input[name=mapping]");
  if (!field) {
    field = document.createElement("input");
    field.type = "hidden";
    field.name = "mapping";
    form.append(field);
  }
  field.value = JSON.stringify(mapping);
  // Disabled fields are not posted; re-enabled if the browser comes back to this page.
  for (const select of selects) select.disabled = true;
  window.addEventListener("pageshow", () => {
    for (const select of selects) select.disabled = false;
  }, { once: true });
});
