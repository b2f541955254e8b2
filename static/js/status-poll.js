/*
 * The live enrollment status polls every few seconds while the page is in view, and slowly
 * while the tab is hidden (another tab, phone locked): nobody is watching, and a server
 * answers many people. Coming back polls at once, then at the usual pace.
 *
 * Markup: the polling element carries data-poll-visible and data-poll-hidden, the two
 * hx-trigger values ("every 3s", "every 30s"). Fragments swapped in by htmx are adjusted
 * as they arrive.
 */
(function () {
  "use strict";

  var SELECTOR = "[data-poll-hidden]";

  function adjust(element) {
    var wanted = element.getAttribute(document.hidden ? "data-poll-hidden" : "data-poll-visible");
    if (wanted && element.getAttribute("hx-trigger") !== wanted) {
      element.setAttribute("hx-trigger", wanted);
      htmx.process(element);
      return true;
    }
    return false;
  }

  document.addEventListener("visibilitychange", function () {
    document.querySelectorAll(SELECTOR).forEach(function (element) {
      if (adjust(element) && !document.hidden) {
        htmx.trigger(element, "poll-now");
      }
    });
  });

  // The page as loaded, and every fragment htmx swaps in afterwards.
  htmx.onLoad(function (root) {
    if (root.matches && root.matches(SELECTOR)) {
      adjust(root);
    }
    if (root.querySelectorAll) {
      root.querySelectorAll(SELECTOR).forEach(adjust);
    }
  });
})();
