// The fleet report's domain list and per-domain detail, drawn from the JSON block #fleet-data.
// Every value goes in with textContent (never as markup). Routes: #d=DOMAIN, #f=FINDING-ID,
// #h=ADDRESS, #p=PAGE; other fragments (#e-..., #summary) are ordinary anchors.
"use strict";
(function () {
  const PAGE = 100;
  const data = JSON.parse(document.getElementById("fleet-data").textContent);
  const S = data.strings, SEV = data.severities, F = data.findings, E = data.endpoints;
  const D = data.domains;
  const byName = new Map(D.map((d, i) => [d[0], i]));
  const rows = document.getElementById("fleet-rows");
  const pager = document.getElementById("fleet-pager");
  const detail = document.getElementById("fleet-detail");
  const search = document.getElementById("fleet-search");
  const filterNote = document.getElementById("fleet-filter");
  let view = D.map((d, i) => i), page = 0, filterText = "";

  function str(i, name) {
    const s = S[i];
    return Array.isArray(s) ? s.join(name) : s;
  }
  function el(tag, text, cls) {
    const n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = String(text);
    if (cls) n.className = cls;
    return n;
  }
  function link(href, text, cls) {
    const a = el("a", text, cls);
    a.href = href;
    return a;
  }
  function sev(i) { return el("span", SEV[i], "sev sev-" + SEV[i]); }
  function grade(g) {
    const span = el("span");
    const letter = g.replace("*", "");
    span.append(el("span", letter, "grade grade-" + (letter === "?" ? "x" : letter.toLowerCase())));
    if (g.endsWith("*")) span.append(el("span", "incomplete", "incomplete"));
    return span;
  }
  // [finding index, severity index, waived] of a domain: its own and its endpoints'
  function findingsOf(d) {
    const out = d[3].map(f => [f[0], F[f[0]][1], f[3]]);
    for (const ei of d[2]) for (const f of E[ei][5]) out.push([f[0], F[f[0]][1], f[2]]);
    return out;
  }

  function renderRows() {
    rows.replaceChildren();
    const start = page * PAGE;
    for (const di of view.slice(start, start + PAGE)) {
      const d = D[di], tr = el("tr");
      const th = el("th"); th.scope = "row";
      th.append(link("#d=" + encodeURIComponent(d[0]), d[0]));
      tr.append(th);
      const g = el("td"); g.append(grade(d[1])); tr.append(g);
      const live = findingsOf(d).filter(f => !f[2]);
      const counts = el("td"), c = new Array(SEV.length).fill(0);
      for (const f of live) c[f[1]]++;
      const wrap = el("span", null, "counts");
      SEV.forEach((s, i) => { if (c[i]) { const x = el("span", null, "count"); x.append(sev(i), " " + c[i]); wrap.append(x); } });
      if (!live.length) wrap.append(el("span", "none", "muted"));
      counts.append(wrap); tr.append(counts);
      const worst = el("td", null, "hide-narrow");
      if (live.length) {
        live.sort((a, b) => a[1] - b[1]);
        worst.append(F[live[0][0]][2]);
      } else worst.append(el("span", "none", "muted"));
      tr.append(worst);
      tr.append(el("td", d[2].length, "hide-narrow num"));
      tr.append(el("td", d[4].length || "–", "hide-narrow num"));
      rows.append(tr);
    }
    pager.replaceChildren();
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    pager.append(el("span", view.length.toLocaleString("en") + " domains · page " + (page + 1) + " of " + pages, "muted"));
    const shown = new Set([0, pages - 1, page - 2, page - 1, page, page + 1, page + 2]);
    let gap = false;
    for (let p = 0; p < pages; p++) {
      if (!shown.has(p)) { if (!gap) pager.append(el("span", "…")); gap = true; continue; }
      gap = false;
      pager.append(p === page ? el("span", p + 1, "current") : link("#p=" + (p + 1), p + 1));
    }
  }

  function setView(indices, note) {
    view = indices;
    filterNote.textContent = note || "";
    renderRows();
  }
  function applySearch() {
    const q = filterText.trim().toLowerCase();
    page = 0;
    if (!q) { setView(D.map((d, i) => i), ""); return; }
    setView(D.map((d, i) => i).filter(i => D[i][0].includes(q)), "names containing “" + q + "”");
  }

  function section(parent, title) { parent.append(el("h3", title)); }
  function table(parent, head, body) {
    const wrap = el("div", null, "table-wrap"), t = el("table"), th = el("thead"), tr = el("tr");
    for (const h of head) { const c = el("th", h); c.scope = "col"; tr.append(c); }
    th.append(tr); t.append(th);
    const tb = el("tbody");
    for (const row of body) {
      const r = el("tr");
      for (const cell of row) { const c = el("td"); c.append(cell); r.append(c); }
      tb.append(r);
    }
    t.append(tb); wrap.append(t); parent.append(wrap);
  }
  function findingBox(fi, subject, text, waived) {
    const f = F[fi], box = el("div", null, "finding sev-border-" + SEV[f[1]] + (waived ? " waived" : ""));
    const head = el("p", null, "finding-head");
    head.append(sev(f[1]), " ", el("strong", f[2]), " ", el("code", f[0], "fid"));
    if (waived) head.append(" ", el("span", "waived", "tag tag-waived"));
    box.append(head, el("p", subject, "subject mono"), el("p", text));
    return box;
  }

  function showDomain(name) {
    const di = byName.get(name);
    detail.replaceChildren();
    if (di === undefined) { detail.hidden = true; return; }
    const d = D[di];
    const h = el("h3"); h.id = "detail-h";
    h.append(el("span", d[0]), grade(d[1]));
    detail.append(h);
    if (d[5].length) {
      section(detail, "Recommended client settings");
      table(detail, ["", "Server", "Source"], d[5].map(r => [str(r[0], name), el("span", str(r[1], name), "mono"), str(r[2], name)]));
    }
    section(detail, "Endpoints");
    if (d[2].length) {
      table(detail, ["Endpoint", "Address", "Probe", "Worst finding"], d[2].map(ei => {
        const e = E[ei];
        return [link("#" + e[2], S[e[0]], "mono"), el("span", S[e[1]], "mono"),
                el("span", e[3], "status status-" + e[3]), e[4] >= 0 ? sev(e[4]) : el("span", "none", "muted")];
      }));
    } else detail.append(el("p", "No endpoint was found for this domain.", "muted"));
    section(detail, "Domain findings");
    if (!d[3].length) detail.append(el("p", "No findings on the domain itself.", "muted"));
    for (const f of d[3]) detail.append(findingBox(f[0], f[1] ? str(f[1] - 1, name) : name, str(f[2], name), f[3]));
    const endpointFindings = [];
    for (const ei of d[2]) for (const f of E[ei][5]) endpointFindings.push([ei, f]);
    if (endpointFindings.length) {
      section(detail, "Findings on its endpoints (shared with the other domains on them)");
      for (const [ei, f] of endpointFindings) detail.append(findingBox(f[0], S[E[ei][0]], S[f[1]], f[2]));
    }
    section(detail, "Could not be tested");
    if (!d[4].length) detail.append(el("p", "Everything this domain depends on could be tested.", "muted"));
    else {
      const ul = el("ul", null, "untested");
      for (const u of d[4]) {
        const li = el("li");
        li.append(el("span", str(u[0], name), "tag tag-" + str(u[0], name)), " ", el("span", str(u[1], name), "mono"),
                  " — " + str(u[2], name) + ": " + str(u[3], name));
        ul.append(li);
      }
      detail.append(ul);
    }
    if (d[6].length) {
      detail.append(el("p", "Not offered (guessed names that did not answer; not a finding): " +
                        d[6].map(i => str(i, name)).join(", "), "note"));
    }
    detail.hidden = false;
    detail.scrollIntoView();
  }

  function route() {
    const hash = decodeURIComponent(location.hash.slice(1));
    const [key, value] = [hash.slice(0, 2), hash.slice(2)];
    if (key === "d=") { showDomain(value); return; }
    if (key === "p=") { page = Math.max(0, parseInt(value, 10) - 1 || 0); renderRows(); rows.closest("section").scrollIntoView(); return; }
    if (key === "f=") {
      const ids = new Set(F.map((f, i) => [f, i]).filter(([f]) => f[0] === value).map(([, i]) => i));
      page = 0;
      setView(D.map((d, i) => i).filter(i => findingsOf(D[i]).some(f => !f[2] && ids.has(f[0]))), "domains with " + value);
      document.getElementById("domains").scrollIntoView();
      return;
    }
    if (key === "h=") {
      const eis = new Set(E.map((e, i) => [e, i]).filter(([e]) => S[e[6]] === value).map(([, i]) => i));
      page = 0;
      setView(D.map((d, i) => i).filter(i => D[i][2].some(ei => eis.has(ei))), "domains on " + value);
      document.getElementById("domains").scrollIntoView();
    }
  }

  search.addEventListener("input", () => { filterText = search.value; applySearch(); });
  window.addEventListener("hashchange", route);
  renderRows();
  if (location.hash) route();
})();
