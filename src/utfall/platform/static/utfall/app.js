// Behaviour that the Content-Security-Policy forbids inline (no onclick=, no <script> blocks):
// a <select data-autosubmit> submits its form when it changes (the language switch).
document.addEventListener("change", function (event) {
  var target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
    target.form.submit();
  }
});
