/* The condition builder: rows and groups a marketer clicks together, kept in a form field as
   the JSON of docs/conditions.md. Shared by the segment, score-model and threshold-rule editors;
   no dependencies.

   Every element with `data-condition-builder` is mounted when the page loads; other scripts
   mount one with `VolanoConditionBuilder.mount(root, options)` (the score-model editor does,
   one per rule). Options, each also readable from the root's data attributes:
   - input (`data-input`: an element id): the field holding the JSON, read at mount and
     written on every change; default: the form's `input[name=definition]`.
   - catalogue (`data-catalogue`: the id of a json_script): fields, operators and words in the
     user's language, from volano.conditions.catalogue; default `builder-catalogue`.
   - single (`data-single`): exactly one event condition with no count, total or first/last
     time (an engagement rule, which scores each event itself).
   - errorsFrom (`data-errors-from`: an element id): where the preview swaps in an element with
     `data-error-path`; the error is then shown next to its row.
   - indent (`data-indent`): write the JSON indented (when the field is shown to people).
   - keepText: do not rewrite the field at mount (it is being typed into).

   The DOM is the state: each group and row reads itself back into JSON (`read`), and records the
   path its node has in that JSON ("conditions.all[2]"), so an error the server names by path is
   shown next to the row it is about; controls record the rest of the path ("sum.gte") so the one
   at fault is marked too. A loaded row that would not read back into exactly the JSON it came
   from stays a read-only "advanced" row: saving unchanged never rewrites a rule. */
(function () {
  "use strict";

  var MAX_DEPTH = 3;
  var EVENT_KEYS = ["event", "where", "count", "within_days", "between", "sum", "first", "last"];
  var SINGLE_EVENT_KEYS = ["event", "where", "within_days", "between"];
  var uid = 0;
  var catalogues = {};

  function catalogueFrom(id) {
    if (!catalogues[id]) catalogues[id] = JSON.parse(document.getElementById(id).textContent);
    return catalogues[id];
  }

  function mount(root, options) {
  options = options || {};
  var ds = root.dataset;
  var C = options.catalogue || catalogueFrom(ds.catalogue || "builder-catalogue");
  var T = C.text;
  var form = root.closest("form");
  var hidden = options.input || (ds.input ? document.getElementById(ds.input) : form.querySelector("input[name=definition]"));
  var single = options.single !== undefined ? options.single : ds.single !== undefined;
  var errorsFrom = options.errorsFrom || ds.errorsFrom || "";
  var indent = options.indent !== undefined ? options.indent : ds.indent !== undefined;
  var silent = !!options.keepText;
  root.classList.add("builder");
  if (single) root.classList.add("single");

  // ---- small DOM helpers --------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function select(role, label, options, value, multiple) {
    var s = el("select", { "data-role": role, "aria-label": label });
    if (multiple) { s.multiple = true; s.size = Math.min(6, Math.max(options.length, 2)); }
    options.forEach(function (pair) {
      var o = el("option", { value: pair[0], text: pair[1] });
      if (multiple ? (value || []).indexOf(pair[0]) >= 0 : String(value) === pair[0]) o.selected = true;
      s.appendChild(o);
    });
    return s;
  }

  function input(role, label, type, value, extra) {
    var i = el("input", Object.assign({ "data-role": role, "aria-label": label, type: type }, extra || {}));
    if (value !== undefined && value !== null) i.value = value;
    return i;
  }

  function button(text, cls, label) {
    var b = el("button", { type: "button", className: "button small " + cls, text: text });
    if (label) b.setAttribute("aria-label", label);
    return b;
  }

  function q(scope, role) { return scope.querySelector(":scope > .cond-body [data-role='" + role + "']"); }

  function pairs(obj) { return Object.keys(obj).map(function (k) { return [k, obj[k]]; }); }

  function checkbox(role, text, checked) {
    var box = el("input", { type: "checkbox", "data-role": role });
    box.checked = checked;
    return el("label", { className: "opt" }, [box, document.createTextNode(" " + text)]);
  }

  function isoDay(offsetDays) {
    var d = new Date();
    d.setDate(d.getDate() + offsetDays);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  // JSON with sorted keys: two definitions that mean the same object compare equal.
  function canonical(value) {
    if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (k) {
        return JSON.stringify(k) + ":" + canonical(value[k]);
      }).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  function allFields() { return C.contact_fields.concat(C.company_fields); }

  function fieldSpec(name) {
    return allFields().filter(function (f) { return f.name === name; })[0];
  }

  function isNumberKind(kind) { return kind === "number" || kind === "score"; }

  // ---- groups -------------------------------------------------------------------------------

  function groupEl(node, depth, loaded) {
    var mode = node && node.any ? "any" : "all";
    var items = (node && (node.any || node.all)) || [];
    var box = el("fieldset", { className: "cond-group depth-" + depth, "data-depth": depth });
    var legend = el("legend", { className: "visually-hidden", text: T.group });
    var head = el("div", { className: "group-head" }, [
      el("span", { text: T.match }),
      select("mode", T.match, [["all", T.all], ["any", T.any]], mode),
    ]);
    if (depth > 0) {
      var negId = "neg-" + (++uid);
      var neg = el("input", { type: "checkbox", "data-role": "negate", id: negId });
      neg.checked = !!(node && node.negated);
      head.appendChild(el("label", { className: "negate", for: negId }, [neg, document.createTextNode(" " + T.negate)]));
      var rm = button("✕", "ghost remove", T.remove);
      rm.addEventListener("click", function () { removeNode(box); });
      head.appendChild(rm);
    }
    var list = el("ol", { className: "cond-items" });
    items.forEach(function (item) { list.appendChild(nodeEl(item, depth + 1, loaded)); });
    var actions = el("div", { className: "group-actions" });
    var addRow = button(T.add_condition, "add-condition");
    addRow.addEventListener("click", function () {
      var row = rowEl(C.new_condition);
      list.appendChild(row);
      changed(row.querySelector("select"));
    });
    actions.appendChild(addRow);
    if (depth + 1 < MAX_DEPTH) {
      var addGroup = button(T.add_group, "ghost add-group");
      addGroup.addEventListener("click", function () {
        var g = groupEl({ any: [C.new_condition] }, depth + 1);
        list.appendChild(el("li", { className: "cond-item" }, [g]));
        changed(g.querySelector("select"));
      });
      actions.appendChild(addGroup);
    }
    // One event condition: no "all/any", nothing to add.
    if (single && depth === 0) head.hidden = actions.hidden = true;
    box.appendChild(legend);
    box.appendChild(head);
    box.appendChild(el("p", { className: "row-error", "data-role": "error", role: "alert" }));
    box.appendChild(list);
    box.appendChild(actions);
    return box;
  }

  function nodeEl(node, depth, loaded) {
    // A group, a negated group, or a leaf row. `loaded`: the node comes from a saved rule.
    if (node && node.not && (node.not.all || node.not.any)) {
      return el("li", { className: "cond-item" }, [groupEl(Object.assign({ negated: true }, node.not), depth, loaded)]);
    }
    if (node && (node.all || node.any)) {
      if (depth >= MAX_DEPTH) return rowEl({ raw: node });
      return el("li", { className: "cond-item" }, [groupEl(node, depth, loaded)]);
    }
    return rowEl(node, loaded);
  }

  function removeNode(target) {
    var item = target.closest(".cond-item");
    var focus = item.previousElementSibling || item.nextElementSibling;
    item.remove();
    var next = focus ? focus.querySelector("select, input, button") : root.querySelector(".add-condition");
    if (next) next.focus();
    changed();
  }

  // ---- rows ---------------------------------------------------------------------------------

  function kindOf(node) {
    if (!node) return "field";
    if (node.raw) return "raw";
    var leaf = node.not || node;
    if (single) {
      var allowed = leaf === node && leaf.event !== undefined && Object.keys(leaf).every(function (k) { return SINGLE_EVENT_KEYS.indexOf(k) >= 0; });
      return allowed ? "event" : "raw";
    }
    var kind = plainKind(node, leaf);
    // What the context refuses (a list in a scoring rule) is not offered: it stays as written.
    return kind === "raw" || T.kinds[kind] ? kind : "raw";
  }

  function plainKind(node, leaf) {
    if (leaf.event !== undefined) {
      var extra = Object.keys(leaf).filter(function (k) { return EVENT_KEYS.indexOf(k) < 0; });
      return extra.length ? "raw" : "event";
    }
    if (leaf.list !== undefined || leaf.segment !== undefined) return "member";
    if (node.not) return "raw";
    if (typeof leaf.field === "string") {
      if (leaf.field.indexOf("consent.") === 0) return "consent";
      if (!fieldSpec(leaf.field)) return "raw";
      return leaf.field.indexOf("company.") === 0 ? "company" : "field";
    }
    return "raw";
  }

  function rowEl(node, loaded) {
    var kind = kindOf(node);
    var row = el("li", { className: "cond-item cond-row" });
    var body = el("div", { className: "cond-body" });
    row.appendChild(body);
    row.appendChild(el("p", { className: "row-error", "data-role": "error", role: "alert", id: "error-" + (++uid) }));
    fillRow(row, kind, node);
    if (loaded && kind !== "raw" && !readsBack(row, node)) fillRow(row, "raw", { raw: node });
    return row;
  }

  function readsBack(row, node) {
    try { return canonical(readRow(row, "")) === canonical(node); } catch (e) { return false; }
  }

  function fillRow(row, kind, node) {
    var body = row.querySelector(".cond-body");
    body.innerHTML = "";
    row.dataset.kind = kind;
    if (kind === "raw") {
      row.dataset.raw = JSON.stringify(node.raw || node);
      body.appendChild(el("span", { className: "muted", text: T.advanced }));
      body.appendChild(el("code", { className: "raw", text: row.dataset.raw }));
    } else {
      var kinds = select("kind", T.kind, pairs(T.kinds), kind);
      kinds.addEventListener("change", function () {
        var defaults = {
          field: C.new_condition,
          company: { field: "company.size_band", op: "eq", value: "" },
          consent: { field: "consent.email_marketing", op: "eq", value: "granted" },
          member: { list: "" },
          event: { event: "page_view" },
        };
        fillRow(row, kinds.value, defaults[kinds.value]);
        serialise();
        row.querySelector("[data-role=kind]").focus();
      });
      if (!single) body.appendChild(kinds);
      ({ field: fieldRow, company: fieldRow, consent: consentRow, member: memberRow, event: eventRow })[kind](body, node || {}, kind);
    }
    if (single) return;
    var rm = button("✕", "ghost remove", T.remove);
    rm.addEventListener("click", function () { removeNode(row); });
    body.insertBefore(rm, body.querySelector(".event-filters"));
  }

  // contact and company fields: field, operator, value(s)
  function fieldRow(body, node, kind) {
    var fields = kind === "company" ? C.company_fields : C.contact_fields;
    var name = node.field || fields[0].name;
    var fieldSel = select("field", T.field, fields.map(function (f) { return [f.name, f.label]; }), name);
    body.appendChild(fieldSel);
    var opBox = el("span", { className: "op-box" });
    body.appendChild(opBox);
    function drawOps(op, value) {
      opBox.innerHTML = "";
      var spec = fieldSpec(fieldSel.value);
      var ops = C.operators[spec.kind];
      if (!op || !ops[op]) op = Object.keys(ops)[0];
      var opSel = select("op", T.operator, pairs(ops), op);
      opBox.appendChild(opSel);
      var valueBox = el("span", { className: "value-box" });
      opBox.appendChild(valueBox);
      valueBox.appendChild(valueEl(spec, op, value));
      opSel.addEventListener("change", function () {
        valueBox.innerHTML = "";
        valueBox.appendChild(valueEl(spec, opSel.value, undefined));
      });
    }
    fieldSel.addEventListener("change", function () { drawOps(undefined, undefined); });
    drawOps(node.op, node.value);
  }

  function valueEl(spec, op, value) {
    var kind = spec.kind;
    var box = el("span", { className: "value" });
    if (op === "is_set" || op === "is_not_set") return box;
    if (op === "older_than_days" || op === "within_last_days") {
      box.appendChild(input("value", T.days, "number", value, { min: "0", step: "1", className: "short" }));
      box.appendChild(el("span", { text: " " + T.days }));
      return box;
    }
    var inputType = isNumberKind(kind) ? "number" : (kind === "date" || kind === "datetime") ? "date" : "text";
    if (op === "between") {
      var v = Array.isArray(value) ? value : [];
      box.appendChild(input("low", T.value, inputType, v[0], { className: "short", step: "any" }));
      box.appendChild(el("span", { text: " " + T.and + " " }));
      box.appendChild(input("high", T.value, inputType, v[1], { className: "short", step: "any" }));
      return box;
    }
    if (kind === "boolean") {
      box.appendChild(select("value", T.value, [["true", T.yes], ["false", T.no]], String(value)));
      return box;
    }
    var multiple = op === "in" || op === "not_in";
    if (spec.choices) {
      var options = multiple ? spec.choices : [["", "—"]].concat(spec.choices);
      var s = select("value", multiple ? T.several : T.value, options, multiple ? (value || []) : (value || ""), multiple);
      if (multiple) s.dataset.order = JSON.stringify(value || []);
      box.appendChild(s);
      if (multiple) {
        // A long multiple select hides what is chosen: say it next to it.
        var chosen = el("span", { className: "chosen", "aria-live": "polite" });
        var update = function () {
          chosen.textContent = Array.prototype.filter.call(s.options, function (o) { return o.selected; })
            .map(function (o) { return o.textContent; }).join(", ") || T.several;
        };
        s.addEventListener("change", update);
        update();
        box.appendChild(chosen);
      }
      return box;
    }
    if (multiple) {
      var text = Array.isArray(value) ? value.join(", ") : "";
      box.appendChild(input("value", T.comma, "text", text, { placeholder: T.comma }));
      return box;
    }
    box.appendChild(input("value", T.value, inputType, value, { step: "any" }));
    return box;
  }

  function consentRow(body, node) {
    var purpose = (node.field || "consent.email_marketing").replace("consent.", "");
    body.appendChild(select("purpose", T.purpose, C.purposes, purpose));
    var ops = C.operators.consent;
    var op = node.op === "neq" ? "neq" : "eq";
    body.appendChild(select("op", T.operator, [["eq", ops.eq], ["neq", ops.neq]], op));
    body.appendChild(select("value", T.status, C.statuses, node.value || "granted"));
  }

  function memberRow(body, node) {
    var leaf = node.not || node;
    var kind = leaf.list !== undefined ? "list" : "segment";
    var slug = leaf.list !== undefined ? leaf.list : leaf.segment;
    if (kind === "segment" && C.personas.some(function (p) { return p[0] === slug; })) kind = "persona";
    body.appendChild(select("member_op", T.operator, [["in", T.member_in], ["not_in", T.member_not_in]], node.not ? "not_in" : "in"));
    var kindSel = select("member_kind", T.member_kind.list, pairs(T.member_kind), kind);
    body.appendChild(kindSel);
    var pickBox = el("span");
    body.appendChild(pickBox);
    function drawPick(value) {
      pickBox.innerHTML = "";
      var options = { list: C.lists, segment: C.segments, persona: C.personas }[kindSel.value];
      if (!options.length) options = [["", T.none_available]];
      pickBox.appendChild(select("member", T.member_pick, options, value || options[0][0]));
    }
    kindSel.addEventListener("change", function () { drawPick(); });
    drawPick(slug);
  }

  function eventRow(body, node) {
    var leaf = node.not || node;
    // An explicit {"gte": 1} says the same as no count, but a saved rule keeps what it said.
    body.parentNode.dataset.countGiven = leaf.count ? "1" : "";
    if (!single) body.appendChild(select("did", T.did, [["did", T.did], ["did_not", T.did_not]], node.not ? "did_not" : "did"));
    var eventSel = select("event", T.event, C.events, leaf.event || "page_view");
    eventSel.dataset.json = "event";
    body.appendChild(eventSel);
    if (!single) countControls(body, leaf);
    windowControls(body, leaf);
    propertyFilters(body, leaf, eventSel);
    if (single) return;
    var more = el("details", { className: "event-more" }, [el("summary", { text: T.more })]);
    sumControls(more, leaf, eventSel);
    whenControls(more, "first", T.first_on, T.first_when, leaf.first);
    whenControls(more, "last", T.last_on, T.last_when, leaf.last);
    more.open = !!(leaf.sum || leaf.first || leaf.last);
    body.appendChild(more);
  }

  // "[at least] [3] times"
  function countControls(body, leaf) {
    var count = leaf.count || {};
    var countOp = Object.keys(count)[0] || "gte";
    var countN = count[countOp] === undefined ? 1 : count[countOp];
    if (["gte", "lte", "eq"].indexOf(countOp) < 0) countOp = "gte";
    body.appendChild(select("count_op", T.count, pairs(T.count_op), countOp));
    body.appendChild(input("count", T.count, "number", countN, { min: "0", step: "1", className: "short" }));
    body.appendChild(el("span", { text: T.times }));
  }

  // "+ Filter on a detail": [url] [contains] [/prezzi]
  function propertyFilters(body, leaf, eventSel) {
    var filters = el("ul", { className: "prop-filters" });
    var listId = "props-" + (++uid);
    var datalist = el("datalist", { id: listId });
    function fillDatalist() {
      datalist.innerHTML = "";
      // The option's label is what the marketer reads ("Indirizzo della pagina"); its value the key.
      var labels = C.property_labels || {};
      (C.event_properties[eventSel.value] || []).forEach(function (p) {
        datalist.appendChild(el("option", { value: p, label: labels[p] || p, text: labels[p] || p }));
      });
    }
    fillDatalist();
    eventSel.addEventListener("change", fillDatalist);
    // A detail the catalogue knows is picked by its label ("Indirizzo della pagina", never "url");
    // any other detail, or "Another detail…", is typed by its name.
    function propControl(prop) {
      var known = C.event_properties[eventSel.value] || [];
      var labels = C.property_labels || {};
      var text = function (v) { return input("prop", T.property, "text", v, { list: listId, className: "medium", placeholder: T.property }); };
      if (!known.length || (prop && known.indexOf(prop) < 0)) return text(prop);
      var options = known.map(function (p) { return [p, labels[p] || p]; });
      options.push(["", T.property_other]);
      var s = select("prop", T.property, options, prop || known[0]);
      s.classList.add("medium");
      s.addEventListener("change", function () {
        if (s.value) return;
        var typed = text("");
        s.replaceWith(typed);
        typed.focus();
      });
      return s;
    }
    eventSel.addEventListener("change", function () {
      filters.querySelectorAll("select[data-role=prop]").forEach(function (s) { s.replaceWith(propControl(s.value)); });
    });
    function addFilter(prop, op, value, bare) {
      var li = el("li", { className: "prop-filter" });
      if (bare) li.dataset.bare = "1";
      li.appendChild(propControl(prop));
      li.appendChild(select("prop_op", T.operator, pairs(T.property_ops), op || "contains"));
      li.appendChild(input("prop_value", T.value, "text", value, { className: "medium", placeholder: T.value }));
      var rm = button("✕", "ghost", T.remove_filter);
      rm.addEventListener("click", function () { li.remove(); changed(); addBtn.focus(); });
      li.appendChild(rm);
      filters.appendChild(li);
      return li;
    }
    Object.keys(leaf.where || {}).forEach(function (prop) {
      var test = leaf.where[prop];
      if (test !== null && typeof test === "object" && !Array.isArray(test)) {
        Object.keys(test).forEach(function (op) { addFilter(prop, op, test[op]); });
      } else {
        addFilter(prop, "eq", test, true);
      }
    });
    var addBtn = button(T.add_filter, "ghost add-filter");
    addBtn.addEventListener("click", function () {
      var li = addFilter(eventSel.value === "page_view" ? "url" : "", "contains", "");
      li.querySelector("[data-role=prop_value]").focus();
    });
    body.appendChild(el("div", { className: "event-filters" }, [filters, addBtn, datalist]));
  }

  // "in the last N days" / "between two dates" / "at any time"
  function windowControls(body, leaf) {
    var mode = leaf.between !== undefined ? "between" : leaf.within_days !== undefined ? "within" : "any";
    var windowSel = select("window", T.window, pairs(T.window_ops), mode);
    var days = input("within_days", T.window_days, "number", leaf.within_days, { min: "1", step: "1", className: "short" });
    days.dataset.json = "within_days";
    var range = Array.isArray(leaf.between) ? leaf.between : [];
    var from = input("between_from", T.window_from, "date", range[0]);
    var to = input("between_to", T.window_to, "date", range[1]);
    from.dataset.json = "between[0]";
    to.dataset.json = "between[1]";
    var daysBox = el("span", { className: "value" }, [days, el("span", { text: T.days })]);
    var datesBox = el("span", { className: "value" }, [from, el("span", { text: T.and }), to]);
    function draw() {
      daysBox.hidden = windowSel.value !== "within";
      datesBox.hidden = windowSel.value !== "between";
    }
    windowSel.addEventListener("change", function () {
      if (windowSel.value === "within" && !days.value) days.value = "30";
      if (windowSel.value === "between" && !from.value && !to.value) { from.value = isoDay(-30); to.value = isoDay(0); }
      draw();
      serialise();
    });
    draw();
    body.appendChild(windowSel);
    body.appendChild(daysBox);
    body.appendChild(datesBox);
  }

  // "and the total of [order amount] is [at least] [5000]"
  function sumControls(more, leaf, eventSel) {
    var sum = leaf.sum || {};
    var bounds = Object.keys(sum).filter(function (k) { return k !== "property"; }).sort();
    var op = bounds.length === 2 && bounds[0] === "gte" && bounds[1] === "lte" ? "between" : bounds[0] || "gte";
    var low = op === "between" ? sum.gte : sum[op];
    var on = checkbox("sum_on", T.sum_on, !!leaf.sum);
    var propSel = select("sum_property", T.sum_property, [], "");
    var opSel = select("sum_op", T.sum_op, pairs(T.sum_ops), op);
    var lowIn = input("sum_low", T.amount, "number", low, { step: "any", className: "amount" });
    var highIn = input("sum_high", T.amount_high, "number", op === "between" ? sum.lte : undefined, { step: "any", className: "amount" });
    var andText = el("span", { text: T.and });
    var amounts = el("span", { className: "value" }, [lowIn, andText, highIn]);
    var line = el("div", { className: "more-line sum-line" }, [on, propSel, opSel, amounts]);
    function drawProperties(current, keepUnknown) {
      // keepUnknown: a saved rule may total a property the catalogue does not suggest.
      var options = (C.summable_properties[eventSel.value] || []).slice();
      var known = options.some(function (p) { return p[0] === current; });
      if (current && !known && keepUnknown) {
        options.push([current, C.numeric_property_labels[current] || current]);
        known = true;
      }
      propSel.innerHTML = "";
      options.forEach(function (p) { propSel.appendChild(el("option", { value: p[0], text: p[1] })); });
      if (known) propSel.value = current;
      line.hidden = !options.length;
    }
    function draw() {
      var between = opSel.value === "between";
      lowIn.setAttribute("aria-label", between ? T.amount_low : T.amount);
      andText.hidden = highIn.hidden = !between;
      [propSel, opSel, lowIn, highIn].forEach(function (c) { c.disabled = !on.firstChild.checked; });
    }
    eventSel.addEventListener("change", function () { drawProperties(propSel.value, false); });
    opSel.addEventListener("change", draw);
    on.firstChild.addEventListener("change", function () {
      draw();
      if (on.firstChild.checked) lowIn.focus();
    });
    drawProperties(sum.property, true);
    draw();
    more.appendChild(line);
  }

  // "the first / last time was [more than] [90] days ago", "[before] [date]", …
  function whenControls(more, key, text, label, when) {
    when = when || {};
    var op = Object.keys(when)[0] || "older_than_days";
    var isDate = op === "before" || op === "after";
    var on = checkbox(key + "_on", text, Object.keys(when).length > 0);
    var opSel = select(key + "_op", label, pairs(T.when_ops), op);
    var days = input(key + "_days", T.window_days, "number", isDate ? undefined : when[op], { min: "0", step: "1", className: "short" });
    var unit = el("span");
    var date = input(key + "_date", T.date, "date", isDate ? when[op] : undefined);
    function draw() {
      var dated = opSel.value === "before" || opSel.value === "after";
      days.hidden = unit.hidden = dated;
      date.hidden = !dated;
      unit.textContent = opSel.value === "older_than_days" ? T.days_ago : T.days;
      [opSel, days, date].forEach(function (c) { c.disabled = !on.firstChild.checked; });
    }
    opSel.addEventListener("change", draw);
    on.firstChild.addEventListener("change", function () {
      if (on.firstChild.checked && !days.value && !date.value) days.value = "90";
      draw();
      serialise();
    });
    draw();
    more.appendChild(el("div", { className: "more-line" }, [on, opSel, days, unit, date]));
  }

  // ---- reading the DOM back into JSON -------------------------------------------------------

  function number(text) {
    if (text === "" || text === null || text === undefined) return text;
    var n = Number(text);
    return isNaN(n) ? text : n;
  }

  // An empty box reads as null, so the server names the missing value next to its row.
  function numberOrNull(text) { return text === "" ? null : number(text); }

  function selectedInLoadedOrder(s) {
    // The selected values, in the order the saved rule listed them (then the new ones).
    var order = JSON.parse(s.dataset.order || "[]");
    var chosen = Array.prototype.filter.call(s.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
    var kept = order.filter(function (v) { return chosen.indexOf(v) >= 0; });
    return kept.concat(chosen.filter(function (v) { return kept.indexOf(v) < 0; }));
  }

  function readGroup(box, path, asList) {
    // asList: the rule was saved as a bare list (`[c, …]`, the same as "all"); keep it so.
    var mode = box.querySelector(":scope > .group-head [data-role=mode]").value;
    var negate = box.querySelector(":scope > .group-head [data-role=negate]");
    var negated = negate && negate.checked;
    var groupPath = negated ? path + ".not" : path;
    var itemsPath = asList ? groupPath : groupPath + "." + mode;
    box.dataset.path = itemsPath;
    var items = [];
    box.querySelectorAll(":scope > .cond-items > .cond-item").forEach(function (item, i) {
      item.dataset.joiner = mode === "all" ? T.and : T.or;
      items.push(readItem(item, itemsPath + "[" + i + "]"));
    });
    if (asList) return items;
    var group = {};
    group[mode] = items;
    return negated ? { not: group } : group;
  }

  function readItem(item, path) {
    var inner = item.querySelector(":scope > .cond-group");
    return inner ? readGroup(inner, path) : readRow(item, path);
  }

  function readRow(row, path) {
    row.dataset.path = path;
    var body = row.querySelector(".cond-body");
    var kind = row.dataset.kind;
    function val(role) { var c = body.querySelector("[data-role=" + role + "]"); return c ? c.value : undefined; }
    if (kind === "raw") return JSON.parse(row.dataset.raw);
    if (kind === "field" || kind === "company") {
      var spec = fieldSpec(val("field"));
      var op = val("op");
      var node = { field: spec.name, op: op };
      if (op === "is_set" || op === "is_not_set") return node;
      var valueCtl = body.querySelector("[data-role=value]");
      var numeric = isNumberKind(spec.kind);
      if (op === "between") {
        node.value = [val("low"), val("high")].map(function (v) { return numeric ? number(v) : v; });
      } else if (op === "older_than_days" || op === "within_last_days") {
        node.value = number(val("value"));
      } else if (op === "in" || op === "not_in") {
        if (valueCtl.multiple) {
          node.value = selectedInLoadedOrder(valueCtl);
        } else {
          node.value = valueCtl.value.split(",").map(function (v) { return v.trim(); }).filter(Boolean).map(function (v) { return numeric ? number(v) : v; });
        }
      } else if (spec.kind === "boolean") {
        node.value = valueCtl.value === "true";
      } else {
        node.value = numeric ? number(valueCtl.value) : valueCtl.value;
      }
      return node;
    }
    if (kind === "consent") {
      return { field: "consent." + val("purpose"), op: val("op"), value: val("value") };
    }
    if (kind === "member") {
      var ref = {};
      ref[val("member_kind") === "list" ? "list" : "segment"] = val("member");
      if (val("member_op") === "not_in") { row.dataset.path = path; return { not: ref }; }
      return ref;
    }
    return readEvent(row, body, val);
  }

  function readEvent(row, body, val) {
    function ctl(role) { return body.querySelector("[data-role=" + role + "]"); }
    function on(role) { var c = ctl(role); return !!c && c.checked && !c.closest("[hidden]"); }
    var ev = { event: val("event") };
    var tests = {};
    body.querySelectorAll(".prop-filter").forEach(function (li) {
      var prop = li.querySelector("[data-role=prop]").value.trim();
      if (!prop) return;
      (tests[prop] = tests[prop] || []).push(li);
    });
    var where = {};
    Object.keys(tests).forEach(function (prop) {
      var lis = tests[prop];
      var bare = lis.length === 1 && lis[0].dataset.bare && lis[0].querySelector("[data-role=prop_op]").value === "eq";
      lis.forEach(function (li) {
        var op = li.querySelector("[data-role=prop_op]").value;
        var valueCtl = li.querySelector("[data-role=prop_value]");
        var numericProp = C.numeric_properties.indexOf(prop) >= 0 || op === "gte" || op === "lte";
        var value = numericProp ? number(valueCtl.value) : valueCtl.value;
        valueCtl.dataset.json = "where." + prop + (bare ? "" : "." + op);
        if (bare) { where[prop] = value; return; }
        where[prop] = where[prop] || {};
        where[prop][op] = value;
      });
    });
    if (Object.keys(where).length) ev.where = where;
    var countOp = val("count_op");
    if (countOp) {
      var n = number(val("count"));
      ctl("count").dataset.json = "count." + countOp;
      if (!(countOp === "gte" && n === 1) || row.dataset.countGiven) { ev.count = {}; ev.count[countOp] = n === "" ? null : n; }
    }
    if (on("sum_on")) {
      var sumOp = val("sum_op");
      ev.sum = { property: val("sum_property") };
      ctl("sum_property").dataset.json = "sum.property";
      if (sumOp === "between") {
        ev.sum.gte = numberOrNull(val("sum_low"));
        ev.sum.lte = numberOrNull(val("sum_high"));
        ctl("sum_low").dataset.json = "sum.gte";
        ctl("sum_high").dataset.json = "sum.lte";
      } else {
        ev.sum[sumOp] = numberOrNull(val("sum_low"));
        ctl("sum_low").dataset.json = "sum." + sumOp;
      }
    }
    ["first", "last"].forEach(function (key) {
      if (!on(key + "_on")) return;
      var op = val(key + "_op");
      var dated = op === "before" || op === "after";
      var source = ctl(key + (dated ? "_date" : "_days"));
      ev[key] = {};
      ev[key][op] = dated ? source.value || null : numberOrNull(source.value);
      source.dataset.json = key + "." + op;
    });
    var windowMode = val("window");
    if (windowMode === "within") ev.within_days = numberOrNull(val("within_days"));
    if (windowMode === "between") ev.between = [val("between_from") || null, val("between_to") || null];
    return val("did") === "did_not" ? { not: ev } : ev;
  }

  function serialise() {
    var top = root.querySelector(":scope > .cond-group");
    var all = top.querySelector(":scope > .group-head [data-role=mode]").value === "all";
    var items = top.querySelectorAll(":scope > .cond-items > .cond-item");
    var definition;
    // A rule saved as one condition, or as a bare list, is written back in the same shape.
    if (all && shape === "single" && items.length === 1) {
      readGroup(top, "conditions");
      definition = readItem(items[0], "conditions");
    } else {
      definition = readGroup(top, "conditions", all && shape === "list");
    }
    if (!silent) hidden.value = indent ? JSON.stringify(definition, null, 2) : JSON.stringify(definition);
    return definition;
  }

  // ---- errors next to their row -------------------------------------------------------------

  function clearErrors() {
    root.querySelectorAll(".has-error").forEach(function (n) { n.classList.remove("has-error"); });
    root.querySelectorAll("[data-role=error]").forEach(function (p) { p.textContent = ""; });
    root.querySelectorAll("[aria-invalid]").forEach(function (c) {
      c.removeAttribute("aria-invalid");
      c.removeAttribute("aria-describedby");
    });
  }

  function markControls(row, rest, slot) {
    // rest: what the error path says below the row ("sum.gte", "between[1]", "where.url").
    rest = rest.replace(/^\.not(?=$|[.[])/, "").replace(/^\./, "");
    if (!rest) return;
    row.querySelectorAll("[data-json]").forEach(function (c) {
      var key = c.dataset.json;
      var hit = key === rest || key.indexOf(rest + ".") === 0 || key.indexOf(rest + "[") === 0 || rest.indexOf(key + "[") === 0;
      if (!hit || c.closest("[hidden]")) return;
      c.setAttribute("aria-invalid", "true");
      if (slot.id) c.setAttribute("aria-describedby", slot.id);
      var details = c.closest("details");
      if (details) details.open = true;
    });
  }

  function showError(path, message) {
    clearErrors();
    if (!path) return;
    var best = null;
    root.querySelectorAll(".cond-row, .cond-group").forEach(function (n) {
      var p = n.dataset.path;
      if (!p) return;
      var base = n.classList.contains("cond-group") ? p.replace(/\.(all|any)$/, "") : p;
      [p, base].forEach(function (prefix) {
        var next = path.charAt(prefix.length);
        if (path.indexOf(prefix) === 0 && (next === "" || next === "." || next === "[")) {
          // On a tie the later node wins: a row inside the group that has its path.
          if (!best || prefix.length >= best.len) best = { node: n, len: prefix.length };
        }
      });
    });
    if (!best) return;
    var target = best.node;
    target.classList.add("has-error");
    var slot = target.querySelector(":scope > [data-role=error]");
    if (slot) slot.textContent = message;
    if (slot && target.classList.contains("cond-row")) markControls(target, path.slice(target.dataset.path.length), slot);
  }

  if (errorsFrom) document.body.addEventListener("htmx:afterSwap", function (event) {
    var preview = document.getElementById(errorsFrom);
    if (!root.isConnected || !preview || !preview.contains(event.detail.target) && event.detail.target !== preview) return;
    var err = preview.querySelector("[data-error-path]");
    if (err) showError(err.dataset.errorPath, err.dataset.errorMessage);
    else clearErrors();
  });

  // ---- wiring -------------------------------------------------------------------------------

  function changed(focusTarget) {
    serialise();
    if (focusTarget) focusTarget.focus();
    root.dispatchEvent(new Event("change", { bubbles: true }));
  }

  // Serialise first (capture phase) so htmx posts the up-to-date definition.
  root.addEventListener("change", serialise, true);
  root.addEventListener("input", serialise, true);
  root.addEventListener("input", function (event) {
    if (event.target.matches("input[type=text], input[type=number], input[type=date], input:not([type])")) {
      root.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  // A builder redrawn by its page (from the JSON view) leaves the document: it then stays quiet.
  form.addEventListener("submit", function () { if (root.isConnected) serialise(); }, true);

  var initial;
  var shape = "group";
  // Text that is not JSON (a JSON view being fixed) is left as typed until the builder changes.
  try { initial = JSON.parse(hidden.value || "null"); } catch (e) { initial = null; silent = true; }
  if (initial && typeof initial === "object" && !Array.isArray(initial) && !Object.keys(initial).length) initial = null;
  if (Array.isArray(initial)) { shape = "list"; initial = { all: initial }; }
  if (single) {
    shape = "single";
    root.appendChild(groupEl({ all: [initial || { event: "page_view" }] }, 0, true));
  } else if (initial && (initial.all || initial.any) && !initial.not) {
    root.appendChild(groupEl(initial, 0, true));
  } else {
    if (initial) shape = "single";
    root.appendChild(groupEl({ all: initial ? [initial] : [] }, 0, true));
  }
  serialise();
  silent = false;
  var pending = root.dataset.errorPath;
  if (pending) showError(pending, root.dataset.errorMessage);
  if (hidden.tagName === "TEXTAREA") watchText(hidden, root, options);
  return { read: serialise, showError: showError };
  }

  // The JSON view: when the field is a textarea people edit, the builder redraws from what
  // they type as soon as it is JSON; until then a note says so and the builder keeps its state.
  function watchText(area, root, options) {
    var bound = !!area.volanoBuilderRoot;
    area.volanoBuilderRoot = root;
    if (bound) return;
    var note = document.querySelector("[data-json-note-for='" + area.id + "']");
    area.addEventListener("input", function () {
      var value;
      try { value = JSON.parse(area.value); } catch (e) { value = undefined; }
      var ok = value !== null && typeof value === "object";
      if (note) note.textContent = ok ? "" : note.dataset.invalid;
      if (!ok) return;
      var old = area.volanoBuilderRoot;
      var fresh = old.cloneNode(false);
      delete fresh.dataset.errorPath;
      old.replaceWith(fresh);
      mount(fresh, Object.assign({}, options, { keepText: true }));
    });
  }

  window.VolanoConditionBuilder = { mount: mount };
  document.querySelectorAll("[data-condition-builder]").forEach(function (root) { mount(root); });
})();
