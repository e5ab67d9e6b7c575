// The pipeline board: drag a deal card onto another column to move it (an HTMX POST that
// re-renders the board). Moving to "lost" asks for the reason first. Each card's Move menu
// does the same with or without JavaScript, by keyboard too.
// A mouse drags the whole card (HTML drag and drop); a finger or a pen, which HTML drag and
// drop ignores, drags the card by its grip (pointer events: the grip has touch-action: none,
// so pressing on it moves the card instead of scrolling the board). Both drops take the same
// path: the same POST, the same server rules.
(function () {
  "use strict";
  let dragged = null;
  let touchDrag = null; // a finger's or a pen's drag by the grip, below

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

  function dropOn(card, column) {
    const stage = column.dataset.stage;
    if (stage === card.dataset.stage) return;
    if (stage === "lost") {
      askWhyLost(card);
    } else {
      move(card, stage, "");
    }
  }

  document.addEventListener("dragstart", function (event) {
    const card = event.target instanceof Element ? event.target.closest(".deal-card") : null;
    if (!card) return;
    if (touchDrag) {
      event.preventDefault(); // a long press may start a native drag too: the grip's drag wins
      return;
    }
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
    dropOn(dragged, column);
  });

  // ---- finger and pen: drag by the grip ------------------------------------------------
  const EDGE = 48; // px from the board's side where the columns scroll along with the finger

  function columnAt(x, y) {
    return columnOf(document.elementFromPoint(x, y));
  }

  function markTarget(column) {
    document.querySelectorAll(".board-column.drop-target").forEach(function (other) {
      if (other !== column) other.classList.remove("drop-target");
    });
    if (column) column.classList.add("drop-target");
  }

  function autoScroll() {
    if (!touchDrag) return;
    const scroller = touchDrag.scroller;
    const box = scroller.getBoundingClientRect();
    let step = 0;
    if (touchDrag.x < box.left + EDGE) step = -12;
    else if (touchDrag.x > box.right - EDGE) step = 12;
    if (step) {
      scroller.scrollLeft += step;
      markTarget(columnAt(touchDrag.x, touchDrag.y));
    }
    touchDrag.frame = requestAnimationFrame(autoScroll);
  }

  function endTouchDrag(drop) {
    const drag = touchDrag;
    if (!drag) return;
    touchDrag = null;
    cancelAnimationFrame(drag.frame);
    drag.ghost.remove();
    drag.card.classList.remove("dragging");
    const column = drop ? columnAt(drag.x, drag.y) : null;
    markTarget(null);
    if (column) dropOn(drag.card, column);
  }

  document.addEventListener("pointerdown", function (event) {
    if (event.pointerType === "mouse" || touchDrag) return;
    const handle = event.target instanceof Element ? event.target.closest(".drag-handle") : null;
    const card = handle ? handle.closest(".deal-card[draggable=true]") : null;
    if (!card) return;
    event.preventDefault();
    const box = card.getBoundingClientRect();
    const ghost = card.cloneNode(true);
    ghost.removeAttribute("id");
    ghost.setAttribute("aria-hidden", "true");
    ghost.classList.add("drag-ghost");
    ghost.style.width = box.width + "px";
    ghost.style.left = box.left + "px";
    ghost.style.top = box.top + "px";
    document.body.appendChild(ghost);
    card.classList.add("dragging");
    touchDrag = {
      card: card,
      ghost: ghost,
      pointer: event.pointerId,
      scroller: card.closest(".board-columns"),
      startX: event.clientX,
      startY: event.clientY,
      x: event.clientX,
      y: event.clientY,
      frame: 0,
    };
    touchDrag.frame = requestAnimationFrame(autoScroll);
  });

  document.addEventListener("pointermove", function (event) {
    if (!touchDrag || event.pointerId !== touchDrag.pointer) return;
    touchDrag.x = event.clientX;
    touchDrag.y = event.clientY;
    const dx = touchDrag.x - touchDrag.startX;
    const dy = touchDrag.y - touchDrag.startY;
    touchDrag.ghost.style.transform = "translate(" + dx + "px, " + dy + "px) rotate(2deg)";
    markTarget(columnAt(touchDrag.x, touchDrag.y));
  });

  document.addEventListener("pointerup", function (event) {
    if (touchDrag && event.pointerId === touchDrag.pointer) endTouchDrag(true);
  });
  document.addEventListener("pointercancel", function (event) {
    if (touchDrag && event.pointerId === touchDrag.pointer) endTouchDrag(false);
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && touchDrag) endTouchDrag(false);
  });
})();
