// Small progressive enhancements; every page works without them.
"use strict";

// Key images: a click enlarges the image in a dialog (without JavaScript the link opens the image).
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-enlarge]");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const image = link.querySelector("img");
  const dialog = document.createElement("dialog");
  dialog.className = "lightbox";
  dialog.setAttribute("aria-label", image.alt);
  const large = document.createElement("img");
  large.src = link.href;
  large.alt = image.alt;
  const bar = document.createElement("p");
  const caption = document.createElement("span");
  caption.textContent = image.alt;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "secondary small";
  close.textContent = "Close";
  close.addEventListener("click", () => dialog.close());
  bar.append(caption, close);
  dialog.append(large, bar);
  dialog.addEventListener("close", () => { dialog.remove(); link.focus(); });
  dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
  document.body.append(dialog);
  dialog.showModal();
  close.focus();
});

// A form refused by the server: move the keyboard focus to the list of what went wrong.
document.addEventListener("DOMContentLoaded", () => {
  const errors = document.querySelector(".form-errors");
  if (errors) errors.focus();
});
