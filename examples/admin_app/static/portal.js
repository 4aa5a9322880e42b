// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function onReady(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  onReady(function () {
    // Anlage 3: show the follow-up date only for "Wiedervorlage", the reason only for a
    // release, the date and contact channel only for a work status.
    var status = document.getElementById("status");
    if (status) {
      var sync = function () {
        var value = status.value;
        document.querySelectorAll(".follow-up-only").forEach(function (el) {
          el.classList.toggle("hidden", value !== "follow_up");
        });
        document.querySelectorAll(".release-only").forEach(function (el) {
          el.classList.toggle("hidden", value !== "release");
        });
        // A release uses only its reason and the note: no date, no contact channel.
        document.querySelectorAll(".work-only").forEach(function (el) {
          el.classList.toggle("hidden", value === "release");
        });
      };
      status.addEventListener("change", sync);
      sync();
    }
    // On a phone a tab bar is a menu: a button names the open tab and shows the rest.
    document.querySelectorAll("nav.collapsible").forEach(function (nav, index) {
      var active = nav.querySelector("a.active");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "navtoggle";
      if (!nav.id) { nav.id = "collapsible-" + index; }
      button.setAttribute("aria-controls", nav.id);
      button.setAttribute("aria-expanded", "false");
      button.textContent = (nav.getAttribute("data-menu") || "") +
        (active ? ": " + active.textContent.replace(/\s+/g, " ").trim() : "");
      button.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        button.setAttribute("aria-expanded", open ? "true" : "false");
      });
      nav.parentNode.insertBefore(button, nav);
    });
    // "Drucken" on the print page opens the browser's print dialog.
    var printNow = document.getElementById("print-now");
    if (printNow) {
      printNow.addEventListener("click", function () { window.print(); });
    }
  });
})();
