// The upload form's drop zone: a file dropped anywhere on it goes into its file input (which
// covers the zone, so clicking and the keyboard work without this script), and the zone shows
// the chosen file's name.
(function () {
  "use strict";
  function zoneOf(target) {
    return target && target.closest ? target.closest("[data-dropzone]") : null;
  }
  function show(zone) {
    var input = zone.querySelector("input[type=file]");
    var name = zone.querySelector("[data-dropzone-file]");
    var file = input.files && input.files[0];
    zone.classList.toggle("has-file", Boolean(file));
    if (name) name.textContent = file ? file.name : "";
  }
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = zoneOf(event.target);
      if (!zone) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-dragging");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = zoneOf(event.target);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("is-dragging");
  });
  document.addEventListener("drop", function (event) {
    var zone = zoneOf(event.target);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("is-dragging");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    var input = zone.querySelector("input[type=file]");
    var one = new DataTransfer();
    one.items.add(files[0]);
    input.files = one.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  document.addEventListener("change", function (event) {
    var zone = zoneOf(event.target);
    if (zone && event.target.type === "file") show(zone);
  });
  // Back to the page with a file still chosen (the browser keeps it): say which.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-dropzone]").forEach(show);
  });
})();
