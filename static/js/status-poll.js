/*
 * The live enrollment status polls every few seconds while the page is in view, and slowly
 * while the tab is hidden (another tab, phone locked): nobody is watching, and a server
 * answers many people. Coming back polls at once, then at the usual pace.
 *
 * Markup: the polling element carries data-poll-visible and data-poll-hidden, the two
 * hx-trigger values ("every 3s", "every 30s"). Fragments swapped in by htmx are adjusted
 * as they arrive.
 *
 * The fragment is personal, so it is never stored by the browser (Cache-Control: no-store);
 * instead the poll sends back the ETag of the status it shows, and a "304 Not Modified"
 * (nothing changed) leaves the page as it is.
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

  var etags = {};

  function polled(event) {
    var element = event.detail.elt;
    return element && element.matches && element.matches(SELECTOR);
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var etag = polled(event) && etags[event.detail.path];
    if (etag) {
      event.detail.headers["If-None-Match"] = etag;
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!polled(event)) {
      return;
    }
    var xhr = event.detail.xhr;
    if (xhr.status === 304) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      return;
    }
    var etag = xhr.getResponseHeader("ETag");
    if (etag && event.detail.requestConfig) {
      etags[event.detail.requestConfig.path] = etag;
    }
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
