// The rule editor, enhanced. Without this script every button posts the form and the server redraws it;
// with it: the JSON view and each rule's sentence follow the form as you type (the server computes both),
// conditions left out of a rule fold behind an "Add a condition" picker, and a switched-off guard hides its
// fields. Vendored, dependency-free; loaded with script-src 'self' (no inline script anywhere).
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () { window.clearTimeout(timer); timer = window.setTimeout(fn, ms); };
  }

  function liveSync(form) {
    var src = form.getAttribute("data-preview-src");
    var textarea = form.querySelector("#document");
    var before = form.querySelector("input[name=document_before]");
    var jsonEdited = false;
    if (!src || !textarea || !before) { return; }
    textarea.addEventListener("input", function () { jsonEdited = true; });
    var refresh = debounce(function () {
      if (jsonEdited) { return; }  // the JSON view was edited by hand: it wins at the next submit
      var data = new FormData(form);
      data.set("action", "preview");
      fetch(src, {method: "POST", body: data, credentials: "same-origin",
                  headers: {"X-Requested-With": "fetch"}, cache: "no-store"})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (answer) {
          if (!answer || jsonEdited) { return; }
          textarea.value = answer.document;
          before.value = answer.document;
          (answer.sentences || []).forEach(function (sentence, index) {
            var p = document.getElementById("rule-" + index + "-sentence");
            if (p) { p.textContent = sentence; }
          });
        })
        .catch(function () { /* the next submit redraws everything anyway */ });
    }, 300);
    form.addEventListener("input", function (event) { if (event.target !== textarea) { refresh(); } });
    form.addEventListener("change", function (event) { if (event.target !== textarea) { refresh(); } });
  }

  function conditionPicker(fieldset) {
    var rows = fieldset.querySelectorAll(".field.condition");
    var box = fieldset.querySelector(".fields");
    if (!rows.length || !box) { return; }
    var legend = fieldset.id;
    var picker = document.createElement("div");
    picker.className = "condition-picker";
    var label = document.createElement("label");
    label.setAttribute("for", legend + "-add");
    label.textContent = "Add a condition";
    var select = document.createElement("select");
    select.id = legend + "-add";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Add";
    var wrap = document.createElement("div");
    wrap.appendChild(label);
    wrap.appendChild(select);
    picker.appendChild(wrap);
    picker.appendChild(button);
    box.parentNode.insertBefore(picker, box.nextSibling);

    function rebuild() {
      select.innerHTML = "";
      var hiddenCount = 0;
      Array.prototype.forEach.call(rows, function (row) {
        if (!row.hidden) { return; }
        var option = document.createElement("option");
        option.value = row.getAttribute("data-path");
        option.textContent = row.querySelector("label").textContent.trim();
        select.appendChild(option);
        hiddenCount += 1;
      });
      picker.hidden = hiddenCount === 0;
    }
    Array.prototype.forEach.call(rows, function (row) {
      var input = row.querySelector("input, select");
      var unused = input && !input.value && !row.classList.contains("has-error");
      row.hidden = !!unused;
    });
    button.addEventListener("click", function () {
      var row = box.querySelector('.field.condition[data-path="' + select.value + '"]');
      if (!row) { return; }
      row.hidden = false;
      rebuild();
      var input = row.querySelector("input, select");
      if (input) { input.focus(); }
    });
    rebuild();
  }

  function guardToggles(form) {
    var boxes = form.querySelectorAll("input[data-toggles]");
    Array.prototype.forEach.call(boxes, function (box) {
      var group = document.getElementById(box.getAttribute("data-toggles"));
      var fields = group ? group.querySelector(".fields") : null;
      if (!fields) { return; }
      function apply() { fields.hidden = !box.checked; }
      box.addEventListener("change", apply);
      apply();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("rule-editor");
    if (!form) { return; }
    liveSync(form);
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.conditions"), conditionPicker);
    guardToggles(form);
    var errors = document.getElementById("rule-errors");
    if (errors && !form.querySelector("[autofocus]")) { errors.focus(); }
  });
})();
