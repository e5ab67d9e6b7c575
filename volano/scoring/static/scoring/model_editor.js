// The score-model editor: one row per rule, kept in step with the "Edit as JSON" box.
// The JSON box is what the form posts (and what the preview reads); the rows write it on every
// change, and editing the JSON redraws the rows. Each rule's condition is a condition builder
// (conditions/builder.js, loaded before this script) writing the rule's hidden `when` field; an
// engagement rule's builder holds one event condition. Without JavaScript the JSON box alone works.
(function () {
  "use strict";
  const form = document.getElementById("model-form");
  const template = document.getElementById("rule-row-template");
  if (!form || !template) return;
  const list = form.querySelector("[data-rules]");
  const json = form.querySelector('textarea[name="model_json"]');
  const jsonNote = document.getElementById("json-note");
  const head = (name) => form.querySelector(`[data-model="${name}"]`);
  const slugLocked = head("slug").readOnly || head("slug").value !== "";
  let slugTouched = slugLocked;
  form.classList.add("js");

  function number(text) {
    const value = text.trim().replace(",", ".");
    if (value === "") return undefined;
    const n = Number(value);
    return Number.isNaN(n) ? text : n;
  }

  function readRule(row) {
    const get = (field) => row.querySelector(`[data-field="${field}"]`);
    const rule = { kind: get("kind").value };
    const raw = get("when").value.trim();
    if (raw !== "") {
      try {
        rule.when = JSON.parse(raw);
      } catch (error) {
        rule.when = raw; // the server names the rule whose condition is not JSON
      }
    }
    const points = number(get("points").value);
    if (points !== undefined) rule.points = points;
    if (rule.kind === "engagement") {
      const times = number(get("max_times").value);
      const halfLife = number(get("half_life_days").value);
      if (times !== undefined) rule.max_times = times;
      if (halfLife !== undefined) rule.half_life_days = halfLife;
    }
    const label = get("label").value.trim();
    if (label) rule.label = label;
    return rule;
  }

  function readModel() {
    let previous = {};
    try {
      previous = JSON.parse(json.value) || {};
    } catch (error) {
      previous = {};
    }
    const model = {
      ...previous,
      slug: head("slug").value.trim(),
      name: head("name").value.trim(),
      product_line: head("product_line").value,
      active: head("active").checked,
      rules: Array.from(list.querySelectorAll("[data-rule]"), readRule),
    };
    return model;
  }

  function writeJson() {
    json.value = JSON.stringify(readModel(), null, 2);
    jsonNote.textContent = "";
  }

  const isEvent = (when) => Boolean(when) && typeof when === "object" && "event" in when;

  // (Re)draw the builder of a row from its hidden `when` field.
  function mountBuilder(row) {
    const old = row.querySelector("[data-when-builder]");
    const root = old.cloneNode(false);
    root.className = "builder";
    old.replaceWith(root);
    row.volanoBuilder = window.VolanoConditionBuilder.mount(root, {
      input: row.querySelector('[data-field="when"]'),
      single: row.querySelector('[data-field="kind"]').value === "engagement",
    });
  }

  function fill(row, rule, index) {
    const set = (field, value) => {
      const input = row.querySelector(`[data-field="${field}"]`);
      input.value = value === undefined || value === null ? "" : value;
    };
    const kind = ["fit", "engagement", "negative"].includes(rule.kind) ? rule.kind : "fit";
    set("kind", kind);
    set("points", rule.points);
    set("max_times", rule.max_times);
    set("half_life_days", rule.half_life_days);
    set("label", rule.label);
    set("when", rule.when === undefined ? "" : JSON.stringify(rule.when));
    row.className = `rule-row kind-${kind}`;
    row.id = `rule-${index}`;
    row.querySelector("[data-number]").textContent = String(index + 1);
    row.querySelector(".rule-note").id = `rule-${index}-note`;
  }

  function makeRow(rule, index) {
    const holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replaceAll("__i__", String(index)).trim();
    const row = holder.firstElementChild;
    row.querySelector(".rule-note").replaceChildren();
    fill(row, rule && typeof rule === "object" ? rule : { when: rule }, index);
    return row;
  }

  function drawRows(rules) {
    list.replaceChildren(...rules.map(makeRow));
    list.querySelectorAll("[data-rule]").forEach(mountBuilder);
  }

  function fromJson() {
    let model;
    try {
      model = JSON.parse(json.value);
    } catch (error) {
      jsonNote.textContent = form.dataset.msgInvalidJson;
      return;
    }
    if (!model || typeof model !== "object" || Array.isArray(model)) {
      jsonNote.textContent = form.dataset.msgInvalidJson;
      return;
    }
    jsonNote.textContent = "";
    if (!head("slug").readOnly) head("slug").value = model.slug || "";
    head("name").value = model.name || "";
    head("product_line").value = model.product_line || "";
    head("active").checked = model.active !== false;
    drawRows(Array.isArray(model.rules) ? model.rules : []);
  }

  function slugify(text) {
    return text
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60);
  }

  function onEdit(event) {
    const target = event.target;
    if (target === json) {
      fromJson();
      return;
    }
    if (target.closest("[data-when-builder]")) {
      writeJson();
      return;
    }
    if (target.dataset.model === "slug") slugTouched = true;
    if (target.dataset.model === "name" && !slugTouched) head("slug").value = slugify(target.value);
    if (target.dataset.field === "kind" && event.type === "change") {
      const row = target.closest("[data-rule]");
      row.className = `rule-row kind-${target.value}`;
      // An engagement rule scores one kind of event: start it from a page view.
      const when = row.querySelector('[data-field="when"]');
      let current = null;
      try { current = JSON.parse(when.value || "null"); } catch (error) { current = null; }
      if (target.value === "engagement" && !isEvent(current)) when.value = JSON.stringify({ event: "page_view" });
      mountBuilder(row);
    }
    if (target.dataset.model || target.dataset.field) writeJson();
  }

  form.addEventListener("input", onEdit);
  form.addEventListener("change", onEdit);

  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    const model = readModel();
    if (button.dataset.action === "add") {
      model.rules.push({ kind: "fit", points: 10, when: { field: "job_title", op: "contains", value: "" } });
      drawRows(model.rules);
      writeJson();
      list.lastElementChild.querySelector('[data-field="kind"]').focus();
    } else if (button.dataset.action === "remove") {
      const rows = Array.from(list.querySelectorAll("[data-rule]"));
      const index = rows.indexOf(button.closest("[data-rule]"));
      model.rules.splice(index, 1);
      drawRows(model.rules);
      writeJson();
      form.dispatchEvent(new Event("change", { bubbles: true }));
      const focus = list.querySelectorAll("[data-rule]")[Math.max(index - 1, 0)];
      (focus ? focus.querySelector('[data-field="kind"]') : form.querySelector('[data-action="add"]')).focus();
    }
  });

  // The preview puts each rule's errors or words under it; mark the rows with errors.
  document.body.addEventListener("htmx:afterSettle", () => {
    for (const row of list.querySelectorAll("[data-rule]")) {
      row.classList.toggle("has-error", Boolean(row.querySelector(".rule-errors")));
      // an error inside the condition is also shown next to the builder row it names
      const error = row.querySelector(".rule-errors [data-error-path]");
      if (row.volanoBuilder) row.volanoBuilder.showError(error ? error.dataset.errorPath : "", error ? error.dataset.errorMessage : "");
    }
  });

  // What the server showed is what the JSON box holds when it could be parsed; otherwise keep
  // the posted text so the user can fix it.
  list.querySelectorAll("[data-rule]").forEach(mountBuilder);
  try {
    JSON.parse(json.value);
    writeJson();
  } catch (error) {
    jsonNote.textContent = form.dataset.msgInvalidJson;
  }
})();
