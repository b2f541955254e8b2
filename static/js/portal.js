// The phone header's menu, and the person's time zone (dates are shown in it).
(function () {
  "use strict";

  function setUpMenu() {
    var button = document.querySelector(".menu-button");
    var menu = document.getElementById("site-menu");
    if (!button || !menu) return;
    document.documentElement.classList.add("has-menu");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      document.documentElement.classList.toggle("menu-open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        button.setAttribute("aria-expanded", "false");
        document.documentElement.classList.remove("menu-open");
        button.focus();
      }
    });
  }

  function rememberTimeZone() {
    if (!window.Intl) return;
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return;
    }
    // IANA names are letters, digits and _ / + - only: safe in a cookie as they are.
    if (!zone || !/^[A-Za-z0-9_\/+-]+$/.test(zone)) return;
    // Read by the server on the next request (the sign-in page sets it before signing in).
    document.cookie =
      "portal_tz=" + zone + "; path=/; SameSite=Lax; max-age=31536000";
    var meta = document.querySelector('meta[name="portal-time-zone"]');
    if (!meta || zone === meta.content) return;
    // Remembered on the account, for e-mails and the next device.
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    headers["Content-Type"] = "application/x-www-form-urlencoded";
    fetch(meta.dataset.url, {
      method: "POST",
      headers: headers,
      credentials: "same-origin",
      body: "time_zone=" + encodeURIComponent(zone),
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpMenu();
    rememberTimeZone();
  });
})();
