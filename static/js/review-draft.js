// The draft of an anonymous review, kept in this browser (localStorage) and never sent
// to Beacon's server: "Save draft in this browser" stores the scores and the comment,
// the page puts them back when it opens again, and submitting (or "Delete the draft")
// removes them. A submitted or closed review's page removes any draft left behind.
// Without JavaScript the buttons stay hidden and the review is written in one sitting.
(function () {
  "use strict";
  var store;
  try {
    store = window.localStorage;
    store.setItem("beacon-probe", "1");
    store.removeItem("beacon-probe");
  } catch (e) {
    store = null;
  }

  var done = document.querySelector("[data-local-draft-done]");
  if (done) {
    if (store) { store.removeItem(done.getAttribute("data-local-draft-done")); }
    return;
  }
  var form = document.querySelector("form[data-local-draft]");
  if (!form) { return; }
  var key = form.getAttribute("data-local-draft");
  var saveButton = document.getElementById("draft-save");
  var deleteButton = document.getElementById("draft-delete");
  var status = document.getElementById("draft-status");
  var comment = form.querySelector("textarea[name=comment]");

  function say(text) { if (status) { status.textContent = text; } }

  if (!store) {
    say("This browser cannot keep a draft: write the review in one sitting.");
    return;
  }

  function radios() {
    return Array.prototype.filter.call(form.querySelectorAll("input[type=radio]"), function (r) {
      return /^c\d+$/.test(r.name);
    });
  }

  function current() {
    var scores = {};
    radios().forEach(function (r) { if (r.checked) { scores[r.name] = r.value; } });
    return { scores: scores, comment: comment ? comment.value : "" };
  }

  function blank() {
    var value = current();
    return !value.comment.trim() && Object.keys(value.scores).every(function (n) { return value.scores[n] === ""; });
  }

  function saved() {
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (e) {
      return null;
    }
  }

  function restore(draft) {
    radios().forEach(function (r) {
      if (Object.prototype.hasOwnProperty.call(draft.scores || {}, r.name)) {
        r.checked = r.value === String(draft.scores[r.name]);
      }
    });
    if (comment && typeof draft.comment === "string") { comment.value = draft.comment; }
  }

  saveButton.hidden = false;
  var draft = saved();
  deleteButton.hidden = !draft;
  // A page shown again after a refused submission already holds what was sent: keep that.
  if (draft && blank()) {
    restore(draft);
    say("Your draft from this browser is back in the form. It has not been sent to Beacon.");
  }

  function keep() {
    try {
      store.setItem(key, JSON.stringify(current()));
    } catch (e) {
      say("The draft could not be saved in this browser (its storage is full or turned off).");
      return;
    }
    deleteButton.hidden = false;
    say("Draft saved in this browser only; Beacon's server has not received it.");
  }

  saveButton.addEventListener("click", keep);

  deleteButton.addEventListener("click", function () {
    store.removeItem(key);
    deleteButton.hidden = true;
    say("The draft is deleted from this browser.");
  });

  form.addEventListener("submit", function (event) {
    var by = event.submitter;
    if (by && by.name === "submit_review") {
      store.removeItem(key);
    } else {          // Enter in a field: keep the draft here, send nothing
      event.preventDefault();
      keep();
    }
  });
})();
