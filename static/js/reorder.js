/*
 * Reorder a list by drag and drop, or from the keyboard (arrow keys on an item's handle).
 *
 * Markup: <form data-reorder-form hx-post=… hx-target=…> around <ol data-reorder-list>, whose
 * movable items carry data-reorder-item and data-id, and a <button data-reorder-handle>.
 * After a move the full new order ("3,1,2") is posted as `order` through htmx (or as a plain
 * form without it); the server answers with the list as it now is. Without JavaScript the
 * form's Move up / Move down buttons do the same. Listeners are delegated from the document,
 * so lists swapped in by htmx keep working.
 */
(function () {
  "use strict";

  var dragged = null;

  function itemOf(node) {
    return node && node.closest ? node.closest("[data-reorder-item]") : null;
  }

  function itemsOf(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[data-reorder-item]"));
  }

  function submit(list) {
    var form = list.closest("form[data-reorder-form]");
    if (!form) {
      return;
    }
    var order = itemsOf(list)
      .map(function (item) { return item.getAttribute("data-id"); })
      .join(",");
    if (window.htmx) {
      window.htmx.ajax("POST", form.getAttribute("hx-post") || form.action, {
        source: form,
        target: form.getAttribute("hx-target"),
        swap: form.getAttribute("hx-swap") || "outerHTML",
        values: { order: order },
      });
      return;
    }
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "order";
    input.value = order;
    form.appendChild(input);
    form.submit();
  }

  function clearMarks(list) {
    itemsOf(list).forEach(function (item) {
      item.classList.remove("drop-target", "dragging");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var item = itemOf(event.target);
    if (!item || !item.closest("[data-reorder-list]")) {
      return;
    }
    dragged = item;
    item.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", item.getAttribute("data-id"));
  });

  document.addEventListener("dragover", function (event) {
    var target = itemOf(event.target);
    if (!dragged || !target || target.parentNode !== dragged.parentNode) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    itemsOf(target.parentNode).forEach(function (item) {
      item.classList.toggle("drop-target", item === target && item !== dragged);
    });
  });

  document.addEventListener("drop", function (event) {
    var target = itemOf(event.target);
    if (!dragged || !target || target.parentNode !== dragged.parentNode) {
      return;
    }
    event.preventDefault();
    var list = target.parentNode;
    var source = dragged;
    dragged = null;
    clearMarks(list);
    if (target === source) {
      return;
    }
    // The dropped item takes the place of the one it was dropped on.
    var items = itemsOf(list);
    if (items.indexOf(source) < items.indexOf(target)) {
      target.after(source);
    } else {
      target.before(source);
    }
    submit(list);
  });

  document.addEventListener("dragend", function () {
    if (dragged) {
      clearMarks(dragged.parentNode);
      dragged = null;
    }
  });

  document.addEventListener("keydown", function (event) {
    var handle = event.target.closest && event.target.closest("[data-reorder-handle]");
    if (!handle || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) {
      return;
    }
    var item = itemOf(handle);
    var list = item.parentNode;
    var items = itemsOf(list);
    var index = items.indexOf(item);
    var next = event.key === "ArrowUp" ? items[index - 1] : items[index + 1];
    event.preventDefault();
    if (!next) {
      return;
    }
    if (event.key === "ArrowUp") {
      next.before(item);
    } else {
      next.after(item);
    }
    // The handle keeps focus: htmx restores focus by id after the swap.
    handle.focus();
    submit(list);
  });
})();
