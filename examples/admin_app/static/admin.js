// The admin area under the portal's Content Security Policy (script-src 'self'): no
// inline handlers, so the questions Flask-Admin would ask inline are asked from here.
(function () {
  "use strict";

  // Every delete and every batch action asks first: a submit button (or its form) with
  // data-confirm names the question; "Abbrechen" sends nothing.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Menu entries and "add filter" links have href="#": open the menu, stay in place.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('a[href="#"]');
    if (link) {
      event.preventDefault();
    }
  });
})();
