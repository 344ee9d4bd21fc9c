// The page an emailed link opens (/password/link#t=<code>). The code rides in the
// fragment, which browsers never send, so it is in no request line or access log.
// Take it out of the address bar and history, then post it like the form below would
// (the server binds the link to this browser's session and shows the password form).
// Without JavaScript the person types or pastes the code the email also gives.
(function () {
  "use strict";
  var form = document.querySelector("[data-link-code]");
  var match = /(?:^#|&)t=([A-Za-z0-9_-]+)/.exec(window.location.hash);
  if (!form || !match) { return; }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  form.querySelector("input[name=code]").value = match[1];
  var status = document.getElementById("link-status");
  if (status) { status.textContent = "Opening your link…"; }
  HTMLFormElement.prototype.submit.call(form);
})();
