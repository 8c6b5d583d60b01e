(function () {
  var status = document.getElementById("copy-status");
  function say(text) {
    if (!status) { return; }
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    var label = button.getAttribute("data-label") || "Code";
    button.hidden = false;
    field.addEventListener("focus", function () { field.select(); });
    function fallback() {
      field.focus();
      field.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      say(ok ? label + " copied." : "Press Ctrl+C to copy the selected " + label + ".");
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          say(label + " copied.");
        }, fallback);
      } else {
        fallback();
      }
    });
  });
})();
