// The dashboard's few behaviours; each runs only where its elements are on the page.
"use strict";

// Keys typed into a field are the field's, not the page's.
const typing = (event) =>
  event.target.closest("input:not([type=checkbox]):not([type=radio]), select, textarea");

// Gallery: a lightbox over the result list (← → move through it), and label suggestions.
(() => {
  const box = document.getElementById("lightbox");
  if (!box) return;
  const links = [...document.querySelectorAll("article.card a.thumb.open")];
  const content = document.getElementById("lightbox-content");
  let at = -1;
  let latest = 0;  // answers to older requests (a quick ← → →) are dropped
  async function show(i, opening = false) {
    if (i < 0 || i >= links.length || (!opening && !box.open)) return;
    const request = ++latest;
    const url = links[i].getAttribute("href");
    const response = await fetch(url + (url.includes("?") ? "&" : "?") + "fragment=1");
    const html = response.ok ? await response.text() : "<p>Could not load this record.</p>";
    if (request !== latest || (!opening && !box.open)) return;  // superseded, or closed
    at = i;
    content.innerHTML = html;
    document.getElementById("lightbox-page").href = url;
    box.dataset.key = links[i].closest("article").dataset.key;
    if (!box.open) box.showModal();
  }
  links.forEach((link, i) => link.addEventListener("click", (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    show(i, true);
  }));
  box.querySelectorAll("[data-step]").forEach((button) =>
    button.addEventListener("click", () => show(at + Number(button.dataset.step))));
  document.getElementById("lightbox-close").addEventListener("click", () => box.close());
  box.addEventListener("keydown", (event) => {
    if (typing(event)) return;
    if (event.key === "ArrowRight") { event.preventDefault(); show(at + 1); }
    if (event.key === "ArrowLeft") { event.preventDefault(); show(at - 1); }
  });
})();

(() => {
  const input = document.getElementById("filter-label");
  const names = document.getElementById("label-names");
  if (!input || !names) return;
  let loaded = false;
  input.addEventListener("focus", async () => {
    if (loaded) return;
    loaded = true;
    const env = document.getElementById("filter-env").value;
    const response = await fetch("/api/labels?covers=false&env=" + encodeURIComponent(env));
    if (!response.ok) return;
    for (const label of (await response.json()).labels) {
      const option = document.createElement("option");
      option.value = label.name;
      option.label = label.records + (label.records === 1 ? " record" : " records");
      names.appendChild(option);
    }
    names.dataset.loaded = "1";
  });
})();

// Record page: ← → follow the list's previous and next links; after "Re-analyse", reload
// once `eventlens run` has written a new record.
(() => {
  const nav = document.querySelector(".nav-record");
  if (nav) {
    document.addEventListener("keydown", (event) => {
      if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) return;
      const rel = {ArrowLeft: "prev", ArrowRight: "next"}[event.key];
      const link = rel && nav.querySelector(`a[rel=${rel}]`);
      if (link) location.href = link.href;
    });
  }
  const notice = document.getElementById("reanalyse-queued");
  const record = document.getElementById("record");
  if (!notice || !record) return;
  const api = "/api/records/" + encodeURIComponent(record.dataset.env) + "/" +
    record.dataset.key.split("/").map(encodeURIComponent).join("/");
  // the record changes when it is analysed again, or is marked deleted (its file went away)
  const started = Date.now();
  const patience = 30_000;  // ms; then a hint, and polls every 5 s
  const poll = async () => {
    const response = await fetch(api);
    const now = response.ok ? await response.json() : null;
    if (response.status === 404 ||
        (now && (now.timestamp !== record.dataset.timestamp || now.deleted_at))) {
      const url = new URL(location.href);
      url.searchParams.delete("queued");
      location.replace(url);
      return;
    }
    const waited = Date.now() - started;
    const impatient = waited > patience;
    if (impatient) {
      notice.textContent = "still queued after " + Math.round(waited / 1000) +
        " s: is eventlens run running for this folder?";
    }
    setTimeout(poll, impatient ? 5000 : 1000);
  };
  setTimeout(poll, 1000);
})();

// Labels page: narrow the grid as you type.
(() => {
  const find = document.getElementById("label-find");
  if (!find) return;
  find.addEventListener("input", () => {
    const wanted = find.value.trim().toLowerCase();
    document.querySelectorAll(".label-card").forEach((card) => {
      card.hidden = wanted !== "" && !card.dataset.name.includes(wanted);
    });
  });
  const parents = document.getElementById("show-parents");
  if (parents) parents.addEventListener("change", () => parents.form.submit());
})();

// A picture that cannot be shown (a broken file, one deleted since) becomes a placeholder that
// says so, not the browser's broken-image icon with the file's raw path.
(() => {
  const replace = (img) => {
    if (!img.matches("article.card .thumb img, #picture") || img.dataset.failed) return;
    img.dataset.failed = "1";
    const note = document.createElement("span");
    note.className = "placeholder error";
    note.setAttribute("role", "img");
    note.textContent = img.id === "picture"
      ? "⚠ This picture cannot be shown: the file could not be read as an image."
      : "⚠ could not be read";
    note.setAttribute("aria-label", note.textContent);
    img.replaceWith(note);
  };
  document.addEventListener("error", (event) => {
    if (event.target instanceof HTMLImageElement) replace(event.target);
  }, true);
  const check = () => document.querySelectorAll("article.card .thumb img, #picture")
    .forEach((img) => { if (img.complete && img.naturalWidth === 0 && img.src) replace(img); });
  check();
  window.addEventListener("load", check);
})();

// Gallery: select every card of the page for re-analysis; the filters fold away on a phone.
(() => {
  const all = document.getElementById("select-all");
  const count = document.getElementById("selected-count");
  if (all && count) {
    const boxes = [...document.querySelectorAll("article.card input.select")];
    const update = () => {
      const chosen = boxes.filter((box) => box.checked).length;
      count.textContent = chosen ? `${chosen} selected` : "";
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    };
    all.addEventListener("change", () => {
      boxes.forEach((box) => { box.checked = all.checked; });
      update();
    });
    boxes.forEach((box) => box.addEventListener("change", update));
  }
  const filters = document.getElementById("filter-box");
  if (filters && window.matchMedia("(max-width: 600px)").matches) filters.open = false;
})();
