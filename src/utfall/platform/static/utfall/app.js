// The page shell's behaviour. The Content-Security-Policy forbids inline script (no onclick=,
// no <script> blocks), so every page gets its behaviour from here, through data attributes:
//
//   <select data-autosubmit>        submits its form when it changes (the language switch)
//   <form data-confirm="TEXT">      asks first, in the <dialog id="confirm-dialog"> of base.html;
//                                   data-confirm-button="LABEL" names the confirm button; a
//                                   submit button may carry its own data-confirm(-button)
//   .errorlist, .form-error,        on load (and after an htmx swap) the first one is scrolled
//   [role=alert]                    to the middle of the screen and the first invalid field
//                                   (or the alert itself) gets the focus
//   <table> inside <main>           goes into a <div class="table-wrap"> that scrolls sideways
//   <h2> inside <main>              three or more make a "On this page" list (labels from the
//                                   data-toc-* attributes of <body>); data-no-toc on <main>
//                                   or on an h2 leaves it out
//
// Without JavaScript every form still submits and every page still reads top to bottom.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.submit();
    }
  });

  // --- Confirmation before irreversible steps --------------------------------------------
  var CONFIRMED = "confirmed";

  function confirmText(form, submitter) {
    if (submitter && submitter.hasAttribute("data-confirm")) {
      return {
        text: submitter.getAttribute("data-confirm"),
        button: submitter.getAttribute("data-confirm-button") || form.getAttribute("data-confirm-button"),
      };
    }
    if (form.hasAttribute("data-confirm")) {
      return { text: form.getAttribute("data-confirm"), button: form.getAttribute("data-confirm-button") };
    }
    return null;
  }

  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || form.method === "dialog") return;
      var submitter = event.submitter || null;
      var ask = confirmText(form, submitter);
      if (!ask || !ask.text) return;
      if (form.dataset.shellConfirm === CONFIRMED) {
        delete form.dataset.shellConfirm; // one confirmation, one submission
        return;
      }
      var dialog = document.getElementById("confirm-dialog");
      if (!dialog || typeof dialog.showModal !== "function") {
        if (!window.confirm(ask.text)) {
          event.preventDefault();
          event.stopPropagation();
        }
        return;
      }
      // Capture phase on the document: neither the browser nor htmx (listening on the form)
      // sees this submission; the confirmed one is sent again with the same button.
      event.preventDefault();
      event.stopPropagation();
      var ok = dialog.querySelector("button[value=confirm]");
      dialog.querySelector(".confirm-text").textContent = ask.text;
      ok.textContent = ask.button || ok.getAttribute("data-default-label");
      dialog.returnValue = "";
      dialog.onclose = function () {
        dialog.onclose = null;
        if (dialog.returnValue !== "confirm") {
          if (submitter && typeof submitter.focus === "function") submitter.focus();
          return;
        }
        form.dataset.shellConfirm = CONFIRMED;
        if (typeof form.requestSubmit === "function") {
          form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
        } else {
          if (submitter && submitter.name) {
            var carry = document.createElement("input");
            carry.type = "hidden";
            carry.name = submitter.name;
            carry.value = submitter.value;
            form.appendChild(carry);
          }
          form.submit();
        }
      };
      dialog.showModal();
    },
    true
  );

  // --- Errors next to what caused them, and focused ----------------------------------------
  var ERROR_SELECTOR = ".errorlist, .form-error, [role=alert]";

  function showFirstError(root) {
    var scope = root || document.getElementById("main") || document.body;
    var error = scope.matches && scope.matches(ERROR_SELECTOR) ? scope : scope.querySelector(ERROR_SELECTOR);
    if (!error) return;
    var form = error.closest("form");
    var field = (form || scope).querySelector("[aria-invalid=true]");
    var target = field || error;
    if (!field && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    (field ? field.closest(".field") || field : error).scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  }

  // --- "On this page": links to the h2 headings of long pages ------------------------------
  function slug(text, taken) {
    var base =
      text
        .toLowerCase()
        .normalize("NFD")
        .replace(/[\u0300-\u036f]/g, "")
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "") || "section";
    var id = base;
    for (var n = 2; taken[id] || document.getElementById(id); n++) id = base + "-" + n;
    taken[id] = true;
    return id;
  }

  function buildToc() {
    var main = document.getElementById("main");
    if (!main || main.hasAttribute("data-no-toc") || main.querySelector(".page-toc")) return;
    var headings = Array.prototype.filter.call(main.querySelectorAll("h2"), function (h) {
      return !h.hasAttribute("data-no-toc") && !h.closest("dialog, [hidden]") && h.textContent.trim();
    });
    if (headings.length < 3) return;
    var label = document.body.getAttribute("data-toc-label") || "On this page";
    var taken = {};
    var list = document.createElement("ol");
    headings.forEach(function (h) {
      if (!h.id) h.id = slug(h.textContent.trim(), taken);
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + h.id;
      link.textContent = h.textContent.trim();
      item.appendChild(link);
      list.appendChild(item);
    });
    var nav = document.createElement("nav");
    nav.className = "page-toc";
    nav.setAttribute("aria-label", document.body.getAttribute("data-toc-nav-label") || label);
    nav.setAttribute("data-testid", "page-toc");
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = label;
    details.appendChild(summary);
    details.appendChild(list);
    nav.appendChild(details);
    // Open beside the page on wide screens, folded at the top on narrow ones (app.css).
    var wide = window.matchMedia("(min-width: 80rem)");
    function fit() {
      details.open = wide.matches;
    }
    fit();
    if (wide.addEventListener) wide.addEventListener("change", fit);
    main.classList.add("has-toc");
    main.insertBefore(nav, main.firstChild);
  }

  // --- Wide tables scroll inside their own box, never the page ------------------------------
  function wrapTables(root) {
    var scope = root || document.getElementById("main");
    if (!scope) return;
    Array.prototype.forEach.call(scope.querySelectorAll("table"), function (table) {
      var parent = table.parentElement;
      if (!parent || parent.closest(".table-wrap, .scroll") || table.closest("[data-no-wrap]")) return;
      var wrap = document.createElement("div");
      wrap.className = "table-wrap";
      parent.insertBefore(wrap, table);
      wrap.appendChild(table);
    });
  }

  function ready() {
    wrapTables();
    buildToc();
    showFirstError();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.closest && target.closest("#main")) wrapTables(target.closest("#main"));
    if (target && target.querySelector && (target.matches(ERROR_SELECTOR) || target.querySelector(ERROR_SELECTOR))) {
      showFirstError(target);
    }
  });
})();
