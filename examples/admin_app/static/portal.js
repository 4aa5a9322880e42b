// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  onReady(function () {
    // Anlage 3: show the follow-up date only for "Wiedervorlage", the reason only for a release.
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
      };
      status.addEventListener("change", sync);
      sync();
    }
    // "Drucken" on the print page opens the browser's print dialog.
    var printNow = document.getElementById("print-now");
    if (printNow) {
      printNow.addEventListener("click", function () { window.print(); });
    }
  });
})();
