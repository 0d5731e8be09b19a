/// The dashboard: one page, one script, one style sheet, written by hand. Plain JavaScript in the browser
/// (fetch, the DOM, SVG for the plot): nothing to build and no package registry to reach, which a front-end
/// framework would need, and small enough to read in one sitting. It works from the API (/v3, with the
/// server's session token) and /dashboard/ for what the API lacks (a cluster's Slurm nodes and jobs).
enum DashboardAssets {
    static let page = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>pcluster dashboard</title>
        <link rel="stylesheet" href="/dashboard.css">
        </head>
        <body>
        <header><a href="#/" id="home">pcluster</a> <nav><a href="#/">Clusters</a> <a href="#/storage" id="nav-storage">Storage</a> <a href="#/create" id="nav-create">Create</a></nav>
        <span id="live" title="The page refreshes every 3 s">live</span></header>
        <main id="view"><p>Loading…</p></main>
        <script src="/dashboard.js"></script>
        </body>
        </html>
        """#

    static let style = #"""
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2733; background: #f6f8fa; }
        header { background: #232f3e; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: center; }
        header a { color: #fff; text-decoration: none; font-weight: 600; }
        nav a { margin-right: 14px; font-weight: 400; }
        #live { margin-left: auto; font-size: 12px; opacity: .7; }
        main { padding: 16px 20px; }
        h1 { font-size: 20px; margin: 4px 0 12px; } h2 { font-size: 16px; margin: 20px 0 8px; }
        table { border-collapse: collapse; background: #fff; min-width: 420px; }
        th, td { border: 1px solid #d8dee4; padding: 4px 10px; text-align: left; }
        th { background: #eef1f4; }
        .status { font-weight: 600; } .COMPLETE, .RUNNING, .idle, .allocated, .mixed { color: #1a7f37; }
        .FAILED, .down, .drain { color: #cf222e; } .IN_PROGRESS, .REQUESTED { color: #9a6700; }
        .error { color: #cf222e; } button { padding: 5px 12px; margin-right: 8px; }
        textarea { width: 100%; max-width: 900px; height: 320px; font: 12px monospace; }
        input { padding: 4px; } .findings li { margin: 2px 0; } .muted { color: #57606a; }
        svg { background: #fff; border: 1px solid #d8dee4; }
        pre { background: #fff; border: 1px solid #d8dee4; padding: 8px; max-height: 320px; overflow: auto; font-size: 12px; }
        """#

    static let script = #"""
        "use strict";
        // The session token comes in the address's fragment (never sent to a server) and stays for the tab.
        const fromHash = /token=([^&]+)/.exec(location.hash);
        if (fromHash) { sessionStorage.setItem("pcluster-token", fromHash[1]); history.replaceState(null, "", "#/"); }
        const token = sessionStorage.getItem("pcluster-token") || "";
        const view = document.getElementById("view");
        const history_ = {};  // cluster -> [{t, states: {state: count}}], for the nodes-over-time plot
        const selectedLog = {};  // cluster -> the log stream shown

        async function api(method, path, body) {
          const response = await fetch(path, {
            method, headers: Object.assign({"X-PCluster-Dashboard-Token": token}, body ? {"Content-Type": "application/json"} : {}),
            body: body ? JSON.stringify(body) : undefined });
          const text = await response.text();
          return {status: response.status, body: text ? JSON.parse(text) : null};
        }
        const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
        const cls = (s) => esc(String(s ?? "").split("_").pop() === "PROGRESS" ? "IN_PROGRESS" : String(s ?? "").split(/[_ ]/).pop());
        function table(id, headers, rows) {
          return `<table id="${id}"><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>` +
            rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("") + `</table>`;
        }

        async function clusters() {
          const listed = await api("GET", "/v3/clusters");
          if (listed.status !== 200) return `<p class="error">${esc(listed.body && listed.body.message)}</p>`;
          const described = await Promise.all(listed.body.clusters.map((c) => api("GET", `/v3/clusters/${encodeURIComponent(c.clusterName)}`)));
          const rows = listed.body.clusters.map((c, i) => [
            `<a href="#/clusters/${encodeURIComponent(c.clusterName)}" class="cluster-link">${esc(c.clusterName)}</a>`,
            `<span class="status ${cls(c.clusterStatus)}">${esc(c.clusterStatus)}</span>`,
            esc((described[i].body || {}).creationTime), esc(c.region), esc(c.version)]);
          return `<h1>Clusters</h1>` + (rows.length ? table("clusters", ["Name", "Status", "Created", "Region", "Version"], rows)
            : `<p class="muted" id="no-clusters">No clusters yet. <a href="#/create">Create one</a>.</p>`);
        }

        function plot(name, nodes) {
          const counts = {};
          for (const n of nodes) counts[n.state] = (counts[n.state] || 0) + 1;
          const kept = (history_[name] = (history_[name] || []).concat([{t: Date.now(), counts}]).slice(-120));
          const series = kept.length === 1 ? [kept[0], kept[0]] : kept;  // one sample still draws a line
          const states = [...new Set(series.flatMap((p) => Object.keys(p.counts)))].sort();
          const max = Math.max(1, ...series.map((p) => Object.values(p.counts).reduce((a, b) => a + b, 0)));
          const w = 480, h = 120, colors = ["#1a7f37", "#0969da", "#9a6700", "#cf222e", "#8250df", "#57606a"];
          const x = (i) => (series.length < 2 ? 0 : (i / (series.length - 1)) * (w - 10)) + 5;
          const lines = states.map((s, k) => `<polyline fill="none" stroke="${colors[k % colors.length]}" stroke-width="2" points="` +
            series.map((p, i) => `${x(i)},${h - 5 - ((p.counts[s] || 0) / max) * (h - 20)}`).join(" ") + `"/>` +
            `<text x="${w - 150}" y="${14 + 13 * k}" fill="${colors[k % colors.length]}" font-size="11">${esc(s)}</text>`).join("");
          return `<svg id="nodes-plot" width="${w}" height="${h}" role="img" aria-label="Slurm nodes by state over time">${lines}</svg>`;
        }

        async function cluster(name) {
          const path = `/v3/clusters/${encodeURIComponent(name)}`;
          const [d, inst, fleet, events, slurm, streams] = await Promise.all([api("GET", path), api("GET", path + "/instances"),
            api("GET", path + "/computefleet"), api("GET", path + "/stackevents"), api("GET", `/dashboard/clusters/${encodeURIComponent(name)}/slurm`),
            api("GET", path + "/logstreams")]);
          if (d.status !== 200) return `<p class="error" id="cluster-error">${esc(d.body && d.body.message)}</p>`;
          const c = d.body, s = slurm.body || {};
          let html = `<h1 id="cluster-name">${esc(c.clusterName)}</h1>
            <p>Status <span class="status ${cls(c.clusterStatus)}" id="cluster-status">${esc(c.clusterStatus)}</span>,
            created ${esc(c.creationTime)}, version ${esc(c.version)}, region ${esc(c.region)}</p>
            <h2>Compute fleet</h2><p>Status <span class="status ${cls((fleet.body || {}).status)}" id="fleet-status">${esc((fleet.body || {}).status)}</span>
            <button id="stop-fleet">Stop fleet</button><button id="start-fleet">Start fleet</button> <span id="fleet-message" class="muted"></span></p>`;
          html += `<h2>Instances</h2>` + table("instances", ["Instance", "Node type", "Type", "Queue", "State", "Private IP", "Launched"],
            ((inst.body || {}).instances || []).map((i) => [esc(i.instanceId), esc(i.nodeType), esc(i.instanceType), esc(i.queueName),
              esc(i.state), esc(i.privateIpAddress), esc(i.launchTime)]));
          if (s.reachable) {
            html += `<h2>Queues</h2>` + table("queues", ["Partition", "Availability", "Nodes", "State"],
              s.partitions.map((p) => [esc(p.name), esc(p.availability), esc(p.nodes), esc(p.state)]));
            html += `<h2>Slurm nodes</h2>` + plot(name, s.nodes) + table("nodes", ["Node", "State", "Partition"],
              s.nodes.map((n) => [esc(n.name), `<span class="${cls(n.state)}">${esc(n.state)}</span>`, esc(n.partition)]));
            html += `<h2>Jobs</h2>` + table("jobs", ["Job", "Name", "State", "Nodes", "Node list", "Start", "User"],
              s.jobs.map((j) => [esc(j.id), esc(j.name), esc(j.state), esc(j.nodes), esc(j.nodeList), esc(j.start), esc(j.user)]));
            if (s.accounting) html += `<h2>Finished and running jobs (accounting, last day)</h2>` + table("accounting",
              ["Job", "Name", "State", "Nodes", "Node list", "Start", "End", "Exit"],
              s.accounting.map((j) => [esc(j.id), esc(j.name), esc(j.state), esc(j.nodes), esc(j.nodeList), esc(j.start), esc(j.end), esc(j.exitCode)]));
          } else {
            html += `<p class="muted">Slurm does not answer on the head node yet.</p>`;
          }
          if ((c.loginNodes || []).length) html += `<h2>Login nodes</h2>` + table("login-pools", ["Pool", "Status", "Address", "Scheme", "Healthy", "Unhealthy"],
            c.loginNodes.map((p) => [esc(p.poolName), esc(p.status), esc(p.address), esc(p.scheme), esc(p.healthyNodes), esc(p.unhealthyNodes)]));
          const logNames = ((streams.body || {}).logStreams || []).map((l) => l.logStreamName);
          if (logNames.length) {
            // slurmctld's log first: what a user looks at when a job does not start.
            const chosen = logNames.includes(selectedLog[name]) ? selectedLog[name] : logNames.includes("slurmctld") ? "slurmctld" : logNames[0];
            const lines = await api("GET", `${path}/logstreams/${encodeURIComponent(chosen)}?limit=30`);
            html += `<h2>Logs</h2><p>` + logNames.map((l) => `<button class="log-stream" data-stream="${esc(l)}"${l === chosen ? " disabled" : ""}>${esc(l)}</button>`).join("") +
              `</p><pre id="log-lines">${esc(((lines.body || {}).events || []).map((e) => e.message).join("\n"))}</pre>`;
          }
          html += `<h2>Stack events</h2>` + table("events", ["Time", "Resource", "Status", "Reason"],
            ((events.body || {}).events || []).slice(0, 15).map((e) => [esc(e.timestamp), esc(e.logicalResourceId), esc(e.resourceStatus), esc(e.resourceStatusReason)]));
          return html;
        }

        // One bar per association: its files by HSM state (released, archived, dirty, lost; the rest local only).
        function hsmBar(h) {
          const parts = [["released", h.Released, "#0969da"], ["archived", h.Archived - h.Dirty, "#1a7f37"], ["dirty", h.Dirty, "#9a6700"],
            ["lost", h.Lost, "#cf222e"]];
          const total = Math.max(1, h.Files), w = 140;
          let x = 0;
          return `<svg class="hsm-bar" width="${w}" height="14">` + parts.map(([name, n, color]) => {
            const width = Math.max(0, (n / total) * w), rect = `<rect x="${x}" width="${width}" height="14" fill="${color}"><title>${name}: ${n}</title></rect>`;
            x += width; return rect; }).join("") + `</svg>`;
        }

        // Each file system's export queue depth over the page's refreshes.
        const queues_ = [];
        function queuePlot(states) {
          const depth = {};
          for (const h of states) depth[h.FileSystemId] = h.FileSystemQueuedExports;
          queues_.push(depth);
          if (queues_.length > 120) queues_.shift();
          const series = queues_.length === 1 ? [queues_[0], queues_[0]] : queues_;
          const ids = [...new Set(series.flatMap((p) => Object.keys(p)))].sort();
          const max = Math.max(1, ...series.flatMap((p) => Object.values(p)));
          const w = 480, h = 120, colors = ["#0969da", "#8250df", "#9a6700", "#1a7f37"];
          const x = (i) => (i / (series.length - 1)) * (w - 10) + 5;
          const lines = ids.map((id, k) => `<polyline fill="none" stroke="${colors[k % colors.length]}" stroke-width="2" points="` +
            series.map((p, i) => `${x(i)},${h - 5 - ((p[id] || 0) / max) * (h - 20)}`).join(" ") + `"/>` +
            `<text x="5" y="${14 + 13 * k}" fill="${colors[k % colors.length]}" font-size="11">${esc(id)}: ${esc(series[series.length - 1][id] || 0)} queued (max ${max})</text>`).join("");
          return `<svg id="queue-plot" width="${w}" height="${h}" role="img" aria-label="Export queue depth over time">${lines}</svg>`;
        }

        async function storage() {
          const answer = await api("GET", "/dashboard/storage"), s = answer.body || {};
          if (!s.reachable) return `<h1>Storage</h1><p class="muted" id="storage-unreachable">No FSx endpoint answers${s.message ? ": " + esc(s.message) : ""}.</p>`;
          const hsm = {};
          for (const h of s.hsm || []) hsm[h.AssociationId] = h;
          let html = `<h1>Storage</h1><h2>File systems</h2>` + table("file-systems", ["File system", "Lifecycle", "Capacity (GiB)", "Deployment", "Mount name"],
            s.fileSystems.map((f) => [esc(f.FileSystemId), esc(f.Lifecycle), esc(f.StorageCapacity), esc((f.LustreConfiguration || {}).DeploymentType),
              esc((f.LustreConfiguration || {}).MountName)]));
          html += `<h2>Data repository associations</h2>` + table("associations",
            ["Association", "File system path", "Repository", "Lifecycle", "Import", "Export", "Imported", "Exported", "Files", "Released", "Archived",
              "Dirty", "HSM states"],
            s.associations.map((a) => { const h = hsm[a.AssociationId]; const s3 = a.S3 || {};
              return [esc(a.AssociationId), esc(a.FileSystemPath), esc(a.DataRepositoryPath), esc(a.Lifecycle),
                esc(((s3.AutoImportPolicy || {}).Events || []).join(",")), esc(((s3.AutoExportPolicy || {}).Events || []).join(",")),
                esc(h ? h.Imported : ""), esc(h ? `${h.Exported} (${h.DeletedFromRepository} deleted)` : ""),
                esc(h ? h.Files : ""), esc(h ? h.Released : ""), esc(h ? h.Archived : ""), esc(h ? h.Dirty : ""), h ? hsmBar(h) : ""]; }));
          html += `<h2>Export queue</h2>` + queuePlot(s.hsm || []);
          html += `<h2>Data repository tasks</h2>` + table("tasks", ["Task", "Type", "Lifecycle", "Paths", "Total", "Succeeded", "Failed"],
            s.tasks.map((t) => { const st = t.Status || {};
              return [esc(t.TaskId), esc(t.Type), esc(t.Lifecycle), esc((t.Paths || []).join(" ")), esc(st.TotalCount), esc(st.SucceededCount), esc(st.FailedCount)]; }));
          return html;
        }

        function createForm() {
          return `<h1>Create a cluster</h1>
            <p><label>Name <input id="create-name" value="demo"></label></p>
            <p><textarea id="create-config" spellcheck="false" placeholder="Region: us-east-1&#10;HeadNode: ..."></textarea></p>
            <p><button id="dry-run">Dry run</button><button id="create">Create</button></p><div id="create-result"></div>`;
        }

        async function submit(dryrun) {
          const name = document.getElementById("create-name").value, config = document.getElementById("create-config").value;
          const out = document.getElementById("create-result");
          out.innerHTML = `<p class="muted">${dryrun ? "Validating" : "Creating"}…</p>`;
          const answer = await api("POST", "/v3/clusters" + (dryrun ? "?dryrun=true" : ""), {clusterName: name, clusterConfiguration: config});
          const b = answer.body || {};
          const findings = (b.configurationValidationErrors || []).concat(b.validationMessages || []);
          const list = findings.length ? `<ul class="findings" id="findings">` + findings.map((f) =>
            `<li><b>${esc(f.level)}</b> ${f.location ? `<code>${esc(f.location)}</code> ` : ""}${esc(f.type)}: ${esc(f.message)}</li>`).join("") + `</ul>` : "";
          out.innerHTML = `<p id="create-message" class="${answer.status >= 400 && answer.status !== 412 ? "error" : ""}">${esc(answer.status)}: ${esc(b.message || (b.cluster && b.cluster.clusterStatus))}</p>` + list;
          if (!dryrun && answer.status === 202) location.hash = `#/clusters/${encodeURIComponent(name)}`;
        }

        let refreshing = false;
        async function render() {
          if (refreshing) return;
          refreshing = true;
          try {
            const route = location.hash.replace(/^#/, "") || "/";
            if (route === "/create") { if (!document.getElementById("create-config")) view.innerHTML = createForm(); return; }
            const m = /^\/clusters\/([^/]+)$/.exec(route);
            const html = route === "/storage" ? await storage() : m ? await cluster(decodeURIComponent(m[1])) : await clusters();
            view.innerHTML = html;
            document.getElementById("live").textContent = "live · " + new Date().toLocaleTimeString();
          } catch (e) {
            view.innerHTML = `<p class="error">${esc(e)}</p>`;
          } finally { refreshing = false; }
        }

        document.addEventListener("click", async (event) => {
          const id = event.target.id, m = /^#\/clusters\/([^/]+)$/.exec(location.hash);
          if ((id === "stop-fleet" || id === "start-fleet") && m) {
            const status = id === "stop-fleet" ? "STOP_REQUESTED" : "START_REQUESTED";
            const answer = await api("PATCH", `/v3/clusters/${m[1]}/computefleet`, {status});
            document.getElementById("fleet-message").textContent = answer.status === 204 ? `${status} sent` : (answer.body || {}).message;
            render();
          }
          if (event.target.classList.contains("log-stream") && m) {
            selectedLog[decodeURIComponent(m[1])] = event.target.dataset.stream;
            render();
          }
          if (id === "dry-run") submit(true);
          if (id === "create") submit(false);
        });
        window.addEventListener("hashchange", render);
        render();
        setInterval(() => { if (!location.hash.startsWith("#/create")) render(); }, 3000);
        """#
}
