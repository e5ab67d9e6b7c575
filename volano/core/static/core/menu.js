/* The phone menu (base.html): the Menu button opens and closes the panel it controls
   (aria-controls), and says which it is with aria-expanded, which the stylesheet follows;
   Escape closes it and gives the focus back to the button. On a wide screen the panel is
   always shown and the button is hidden, whatever aria-expanded says. */
(function () {
  "use strict";
  function toggle() {
    return document.querySelector(".menu-toggle[aria-controls]");
  }
  function setOpen(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  function isOpen(button) {
    return button.getAttribute("aria-expanded") === "true";
  }

  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest(".menu-toggle[aria-controls]") : null;
    if (button) setOpen(button, !isOpen(button));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    const button = toggle();
    if (!button || !isOpen(button) || getComputedStyle(button).display === "none") return;
    // a dialog or an open <details> listens for Escape first: leave that Escape to it
    if (event.defaultPrevented || document.querySelector("dialog[open]")) return;
    setOpen(button, false);
    button.focus();
  });

  // a page opened from the back/forward cache starts with its menu closed
  window.addEventListener("pageshow", function () {
    const button = toggle();
    if (button) setOpen(button, false);
  });
})();
