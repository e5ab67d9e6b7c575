// The pipeline board: drag a deal card onto another column to move it (an HTMX POST that
// re-renders the board). Moving to "lost" asks for the reason first. Each card's Move menu
// does the same with or without JavaScript.
(function () {
  "use strict";
  let dragged = null;

  function board() {
    return document.getElementById("board");
  }

  function move(card, stage, reason) {
    const current = board();
    htmx.ajax("POST", card.dataset.moveUrl, {
      target: "#board",
      swap: "outerHTML",
      values: { stage: stage, reason: reason, view: current.dataset.view },
      headers: { "X-CSRFToken": current.dataset.csrf },
    });
  }

  function askWhyLost(card) {
    const dialog = document.getElementById("lost-dialog");
    const form = dialog.querySelector("form");
    const reason = dialog.querySelector("#lost-reason");
    dialog.querySelector("[data-role=deal-name]").textContent = card.dataset.name;
    reason.value = "";
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      function () {
        if (dialog.returnValue === "lost" && reason.value.trim()) {
          move(card, "lost", reason.value.trim());
        }
        form.reset();
      },
      { once: true }
    );
    dialog.showModal();
    reason.focus();
  }

  function columnOf(target) {
    return target instanceof Element ? target.closest(".board-column") : null;
  }

  document.addEventListener("dragstart", function (event) {
    const card = event.target instanceof Element ? event.target.closest(".deal-card") : null;
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".board-column.drop-target").forEach(function (column) {
      column.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    const column = columnOf(event.target);
    if (!column || !dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    const column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    const column = columnOf(event.target);
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = dragged;
    const stage = column.dataset.stage;
    if (stage === card.dataset.stage) return;
    if (stage === "lost") {
      askWhyLost(card);
    } else {
      move(card, stage, "");
    }
  });
})();
