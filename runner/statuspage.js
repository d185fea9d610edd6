/* The status page: reads api/status (same origin) every REFRESH_MS and
 * draws incidents and a grid of scenarios x targets.  Everything that
 * comes from the API is put in the page as text (textContent, title,
 * attribute values), never parsed as HTML: test ids and messages are
 * written by scenario authors and by the targets' answers. */
"use strict";
(function () {
  var REFRESH_MS = 5000;
  var FETCH_TIMEOUT_MS = 10000;
  var SLOTS = 16;     /* results a strip shows: the API keeps 16 */
  var SHOWN = 6;      /* tests shown per cell before "+N more" */
  var MORE_STEP = 100; /* tests each "+N more" adds */
  var RANK = { fail: 0, error: 1, unknown: 2, pass: 3 };
  var LETTER = { p: "pass", f: "fail", e: "error" };
  var COLOUR = {
    pass: "#2e7d32", fail: "#c62828", error: "#ef6c00", unknown: "#9e9e9e"
  };

  var data = null;       /* the last /api/status that parsed */
  var shown = new Map(); /* cell key -> tests shown, once expanded */
  var selected = null;   /* { id, index } of the run in the details panel */
  var timer = null;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls)
      e.className = cls;
    if (text !== undefined && text !== null)
      e.textContent = String(text);
    return e;
  }

  function chip(cls, text) { return el("span", "chip " + cls, text); }

  function clock(sec) {
    return sec ? new Date(sec * 1000).toLocaleString() : "never";
  }

  function ago(sec) {
    var d = Math.max(0, Math.round(Date.now() / 1000 - sec));
    if (d < 120)
      return d + "s";
    if (d < 7200)
      return Math.round(d / 60) + "m";
    if (d < 172800)
      return Math.round(d / 3600) + "h";
    return Math.round(d / 86400) + "d";
  }

  function ms(v) {
    return v === null || v === undefined ? "-" : Number(v).toFixed(1) + " ms";
  }

  /* Percent-decoding that never throws on a stray '%'. */
  function unpct(s) {
    return s.replace(/%([0-9A-Fa-f]{2})/g, function (m, h) {
      return String.fromCharCode(parseInt(h, 16));
    });
  }

  /* "scenario@target[k=v,k=v]": names are letters, digits, '_' and '-',
   * and ",=[]%" inside the brackets are percent-encoded. */
  function parseId(id) {
    var at = id.indexOf("@"), rest = id.slice(at + 1);
    var br = rest.indexOf("["), params = [];
    if (br >= 0) {
      rest.slice(br + 1, rest.length - 1).split(",").forEach(function (kv) {
        var eq = kv.indexOf("=");
        params.push([unpct(kv.slice(0, eq)), unpct(kv.slice(eq + 1))]);
      });
      rest = rest.slice(0, br);
    }
    return { scenario: id.slice(0, at), target: rest, params: params };
  }

  function paramText(params) {
    return params.length ? params.map(function (p) {
      return p[0] + "=" + p[1];
    }).join(", ") : "(no matrix)";
  }

  /* ---- filters, kept in the URL's hash ---------------------------- */

  function filters() {
    var q = new URLSearchParams(location.hash.slice(1));
    return {
      tag: q.get("tag") || "", target: q.get("target") || "",
      status: q.get("status") || ""
    };
  }

  function setFilters() {
    var q = new URLSearchParams();
    ["tag", "target", "status"].forEach(function (k) {
      var v = $("f-" + k).value;
      if (v)
        q.set(k, v);
    });
    var h = q.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname);
    render();
  }

  /* Keep a select's options in step with the data, and its value with
   * the hash (a value the data lacks stays, so a shared link holds). */
  function fillSelect(sel, values, want) {
    var have = Array.prototype.map.call(sel.options, function (o) {
      return o.value;
    }).slice(1);
    if (want && values.indexOf(want) < 0)
      values = values.concat([want]);
    if (have.join("\n") !== values.join("\n")) {
      while (sel.options.length > 1)
        sel.remove(1);
      values.forEach(function (v) {
        var o = el("option", null, v);
        o.value = v;
        sel.appendChild(o);
      });
    }
    sel.value = want;
  }

  /* ---- the grid ---------------------------------------------------- */

  /* The statuses of <t>'s last runs, oldest first: the API sends them as
   * one letter a run (p, f, e), which keeps 10,000 tests' strips small. */
  function results(t) {
    var h = t.history || "", out = [], i;
    for (i = Math.max(0, h.length - SLOTS); i < h.length; i++)
      out.push(LETTER[h.charAt(i)] || "unknown");
    return out;
  }

  /* A strip: one element whatever the number of results, its colours a
   * gradient, the run under the pointer found from the pointer's x. */
  function strip(t) {
    var s = el("span", "strip"), r = results(t), stops = [], i;
    var pad = SLOTS - r.length;
    for (i = 0; i < SLOTS; i++) {
      var c = i < pad ? "#e7e7e7" : COLOUR[r[i - pad]] || COLOUR.unknown;
      stops.push(c + " " + (i * 100 / SLOTS) + "% " + ((i + 1) * 100 / SLOTS) + "%");
    }
    s.style.backgroundImage = "linear-gradient(to right, " + stops.join(", ") + ")";
    s.title = r.length ? runText(t, r.length - 1) : "not run yet";
    s.setAttribute("role", "img");
    s.setAttribute("aria-label", r.join(" "));
    return s;
  }

  function slotAt(s, t, x) {
    var r = results(t);
    var slot = Math.floor(x / s.clientWidth * SLOTS);
    var i = slot - (SLOTS - r.length);
    return i >= 0 && i < r.length ? i : -1;
  }

  /* One run of <t> in words; the last one also with its time, step and
   * message (the status API keeps those of the last run only; a click
   * shows every run's from /api/test/ID). */
  function runText(t, i) {
    var r = results(t), back = r.length - 1 - i;
    var s = r[i] + " - ";
    if (back > 0)
      return s + back + (back === 1 ? " run" : " runs") + " before the last (click for details)";
    s += "started " + clock(t.last_run) + ", " + ms(t.duration_ms);
    if (r[i] !== "pass") {
      if (t.step)
        s += "\nstep: " + t.step;
      if (t.message)
        s += "\n" + t.message;
    }
    return s;
  }

  function testRow(t) {
    var d = el("div", "test"), line = el("div", "test-line");
    d.dataset.id = t.id;
    d.dataset.status = t.status;
    if (selected && selected.id === t.id)
      d.classList.add("selected");
    var name = el("span", "test-name", paramText(t.p.params));
    name.title = t.id;
    line.appendChild(name);
    line.appendChild(strip(t));
    d.appendChild(line);
    if ((t.status === "fail" || t.status === "error") && t.message) {
      var m = el("div", "test-msg", (t.step ? t.step + ": " : "") + t.message);
      m.title = t.message;
      d.appendChild(m);
    }
    return d;
  }

  function worst(tests) {
    var w = "pass";
    tests.forEach(function (t) {
      if (RANK[t.status] < RANK[w])
        w = t.status;
    });
    return tests.length ? w : "unknown";
  }

  function cell(key, sc, tg, all, f) {
    var c = el("div", "cell");
    var tests = f.status ? all.filter(function (t) {
      return t.status === f.status;
    }) : all;
    var n = { pass: 0, fail: 0, error: 0, unknown: 0 };
    all.forEach(function (t) { n[t.status] = (n[t.status] || 0) + 1; });
    c.dataset.scenario = sc;
    c.dataset.target = tg.name;
    c.dataset.worst = worst(all);
    c.dataset.key = key;
    var head = el("div", "cell-head");
    head.appendChild(el("span", "cell-target", tg.name));
    var parts = [n.pass + "/" + all.length + " passing"];
    if (n.fail)
      parts.push(n.fail + " failing");
    if (n.error)
      parts.push(n.error + " in error");
    if (n.unknown)
      parts.push(n.unknown + " not run");
    head.appendChild(el("span", "summary", parts.join(", ")));
    if (tg.paused)
      head.appendChild(chip("paused", "paused"));
    if (tg.silenced)
      head.appendChild(chip("silenced", "silenced"));
    c.appendChild(head);
    var limit = shown.get(key) || SHOWN;
    tests.slice(0, limit).forEach(function (t) { c.appendChild(testRow(t)); });
    if (tests.length > limit) {
      var b = el("button", "more", "+" + (tests.length - limit) + " more");
      b.type = "button";
      b.dataset.key = key;
      b.dataset.next = String(limit + MORE_STEP);
      c.appendChild(b);
    }
    return c;
  }

  function scenarioHead(s) {
    var h = el("div", "sc-name");
    h.appendChild(el("div", "name", s.name));
    if (s.description)
      h.appendChild(el("div", "desc", s.description));
    var meta = el("div", "meta");
    meta.appendChild(chip("sev-" + (s.severity || "unknown"), s.severity || "?"));
    if (s.every_ms)
      meta.appendChild(chip("every", "every " + (s.every_ms >= 1000 ?
        s.every_ms / 1000 + "s" : s.every_ms + "ms")));
    (s.tags || []).forEach(function (t) { meta.appendChild(chip("tag", "#" + t)); });
    h.appendChild(meta);
    return h;
  }

  function render() {
    if (!data)
      return;
    var f = filters(), t0 = performance.now();
    var targets = data.targets || [], scenarios = (data.scenarios || []).slice();
    var tags = new Set(), byCell = new Map(), known = new Set();
    var counts = { pass: 0, fail: 0, error: 0, unknown: 0 };

    scenarios.forEach(function (s) {
      known.add(s.name);
      (s.tags || []).forEach(function (t) { tags.add(t); });
    });
    data.tests.forEach(function (t) {
      t.p = parseId(t.id);
      counts[t.status] = (counts[t.status] || 0) + 1;
      var k = t.p.scenario + "@" + t.p.target;
      if (!byCell.has(k))
        byCell.set(k, []);
      byCell.get(k).push(t);
      if (!known.has(t.p.scenario)) { /* gone from the config by a reload */
        known.add(t.p.scenario);
        scenarios.push({ name: t.p.scenario, tags: [] });
      }
    });
    byCell.forEach(function (list) {
      list.sort(function (a, b) {
        return RANK[a.status] - RANK[b.status] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      });
    });
    fillSelect($("f-tag"), Array.from(tags).sort(), f.tag);
    fillSelect($("f-target"), targets.map(function (t) { return t.name; }), f.target);
    $("f-status").value = f.status;

    var cols = targets.filter(function (t) { return !f.target || t.name === f.target; });
    var grid = document.createDocumentFragment(), rows = 0;
    var head = el("div", "row head");
    head.style.setProperty("--cols", String(Math.max(1, cols.length)));
    head.appendChild(el("div", "target-head", "scenario"));
    cols.forEach(function (tg) {
      var h = el("div", "target-head", tg.name);
      if (tg.channel)
        h.appendChild(document.createTextNode(" "));
      if (tg.channel)
        h.appendChild(chip("channel", tg.channel));
      if (tg.paused)
        h.appendChild(chip("paused", "paused"));
      if (tg.silenced)
        h.appendChild(chip("silenced", "silenced"));
      head.appendChild(h);
    });
    grid.appendChild(head);
    scenarios.forEach(function (s) {
      if (f.tag && (s.tags || []).indexOf(f.tag) < 0)
        return;
      var row = el("div", "row scenario"), any = false;
      row.dataset.scenario = s.name;
      row.style.setProperty("--cols", String(Math.max(1, cols.length)));
      row.appendChild(scenarioHead(s));
      cols.forEach(function (tg) {
        var key = s.name + "@" + tg.name, all = byCell.get(key) || [];
        var matching = f.status ? all.some(function (t) { return t.status === f.status; }) : all.length > 0;
        if (matching) {
          row.appendChild(cell(key, s.name, tg, all, f));
          any = true;
        } else {
          row.appendChild(el("div", "cell void"));
        }
      });
      if (any) {
        grid.appendChild(row);
        rows++;
      }
    });
    $("grid").replaceChildren(grid);
    $("empty").hidden = rows > 0;
    $("counts").textContent = data.tests.length + " tests: " + counts.pass +
      " pass, " + counts.fail + " fail, " + counts.error + " error, " +
      counts.unknown + " unknown";
    $("grid").dataset.renderMs = (performance.now() - t0).toFixed(1);
  }

  function renderIncidents() {
    var list = $("incident-list"), items = data.incidents || [];
    var frag = document.createDocumentFragment();
    items.forEach(function (i) {
      var li = el("li", "incident");
      li.dataset.level = i.level;
      li.appendChild(chip(i.level, i.level));
      li.appendChild(el("span", "summary", i.summary || i.dedup_key));
      li.appendChild(el("span", "since", "since " + clock(i.since) + " (" + ago(i.since) + ")"));
      if (i.triggered)
        li.appendChild(chip("fail", "paged"));
      frag.appendChild(li);
    });
    list.replaceChildren(frag);
    $("no-incident").hidden = items.length > 0;
  }

  function renderRunner() {
    var r = data.runner || {};
    $("runner").textContent = (r.id || "") + (r.version ? " " + r.version : "") +
      (r.redis_up === false ? " - Redis unreachable" : "");
    $("allpaused").hidden = !(data.paused && data.paused.all);
  }

  /* ---- details of one test ------------------------------------------ */

  function dl(pairs) {
    var d = el("dl");
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "")
        return;
      d.appendChild(el("dt", null, p[0]));
      d.appendChild(el("dd", "d-" + p[2], p[1]));
    });
    return d;
  }

  function showDetails(t, index) {
    var body = $("details-body"), p = parseId(t.id);
    var frag = document.createDocumentFragment();
    frag.appendChild(el("h2", "d-id", t.id));
    frag.appendChild(dl([
      ["scenario", p.scenario, "scenario"], ["target", p.target, "target"],
      ["parameters", paramText(p.params), "params"],
      ["status", t.status, "status"],
      ["since", t.since ? clock(t.since) + " (" + ago(t.since) + ")" : null, "since"],
      ["last run", t.last_run ? clock(t.last_run) : null, "started"],
      ["duration", t.last_run ? ms(t.duration_ms) : null, "duration"],
      ["failing step", t.step, "step"], ["message", t.message, "message"],
      ["runs", t.runs + " (" + t.failures + " failed or in error)", "runs"]
    ]));
    /* The runs kept in Redis, newest first: the strip's run <index>
     * (oldest first) is runs[len - 1 - index]. */
    var runs = Array.isArray(t.last_runs) ? t.last_runs : [];
    var picked = results(t).length - 1 - index;
    if (runs.length) {
      var table = el("table", "runs"), tr = el("tr");
      ["started", "status", "duration", "step", "message"].forEach(function (h) { tr.appendChild(el("th", null, h)); });
      table.appendChild(tr);
      runs.forEach(function (x, i) {
        var row = el("tr", i === picked ? "picked" : null);
        row.appendChild(el("td", null, clock(x.started)));
        var st = el("td");
        st.appendChild(chip(x.status, x.status));
        row.appendChild(st);
        row.appendChild(el("td", null, ms(x.duration_ms)));
        row.appendChild(el("td", "d-step", x.step || ""));
        row.appendChild(el("td", "d-message", x.message || ""));
        row.title = (x.steps || []).map(function (k) {
          return k.name + ": " + k.status + ", " + ms(k.total_ms) +
            " (first byte " + ms(k.first_byte_ms) + ")";
        }).join("\n");
        table.appendChild(row);
      });
      frag.appendChild(table);
    } else if (t.last_runs_error) {
      frag.appendChild(el("p", "banner", "Earlier runs: " + t.last_runs_error));
    }
    body.replaceChildren(frag);
    $("details").hidden = false;
  }

  function openTest(id, index) {
    var t = data && data.tests.find(function (x) { return x.id === id; });
    selected = { id: id, index: index };
    if (t)
      showDetails(t, index);
    render();
    fetch("api/test/" + encodeURIComponent(id), { cache: "no-store" })
      .then(function (r) {
        if (!r.ok)
          throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (full) {
        if (selected && selected.id === id)
          showDetails(full, index);
      })
      .catch(function (e) {
        if (selected && selected.id === id && !t)
          $("details-body").replaceChildren(el("p", "banner", "Cannot load " + id + ": " + e.message));
      });
  }

  /* ---- refresh ------------------------------------------------------ */

  function schedule() {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(refresh, REFRESH_MS);
  }

  function refresh() {
    var ctl = new AbortController();
    var stop = setTimeout(function () { ctl.abort(); }, FETCH_TIMEOUT_MS);
    fetch("api/status", { cache: "no-store", signal: ctl.signal })
      .then(function (r) {
        if (!r.ok)
          throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (d) {
        /* A reload came while the tests were listed: the list is cut
         * short, so it would show wrong counts. */
        if (d.tests_complete === false)
          throw new Error("the configuration was reloaded while it was read");
        data = d;
        renderRunner();
        renderIncidents();
        render();
        $("banner").hidden = true;
        $("updated").textContent = "updated " + new Date().toLocaleTimeString();
        document.body.dataset.loaded = "1";
      })
      .catch(function (e) {
        var b = $("banner");
        b.textContent = "Cannot read the status (" + (e.name === "AbortError" ?
          "timed out" : e.message) + ")" + (data ? "; showing the last data." : ".");
        b.hidden = false;
        document.body.dataset.failed = String(Number(document.body.dataset.failed || 0) + 1);
      })
      .finally(function () {
        clearTimeout(stop);
        schedule();
      });
  }

  /* ---- events ------------------------------------------------------- */

  function testOf(node) {
    var d = node.closest(".test");
    return d && data ? data.tests.find(function (t) { return t.id === d.dataset.id; }) : null;
  }

  function start() {
    ["f-tag", "f-target", "f-status"].forEach(function (id) {
      $(id).addEventListener("change", setFilters);
    });
    $("filters").addEventListener("submit", function (e) { e.preventDefault(); });
    window.addEventListener("hashchange", render);
    $("grid").addEventListener("click", function (e) {
      var more = e.target.closest(".more");
      if (more) {
        shown.set(more.dataset.key, Number(more.dataset.next));
        render();
        return;
      }
      var t = testOf(e.target);
      if (!t)
        return;
      var s = e.target.closest(".strip");
      var i = s ? slotAt(s, t, e.offsetX) : -1;
      openTest(t.id, i >= 0 ? i : results(t).length - 1);
    });
    $("grid").addEventListener("mousemove", function (e) {
      if (!e.target.classList.contains("strip"))
        return;
      var t = testOf(e.target), i = t ? slotAt(e.target, t, e.offsetX) : -1;
      if (i >= 0)
        e.target.title = runText(t, i);
    });
    $("details-close").addEventListener("click", function () {
      $("details").hidden = true;
      selected = null;
      render();
    });
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        clearTimeout(timer);
        timer = null;
      } else {
        refresh();
      }
    });
    refresh();
  }

  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", start);
  else
    start();
})();
