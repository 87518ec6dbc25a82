// The console's page: plain HTML, its CSS (console-style.ts) and JavaScript (console-script.ts) served from strings
// (no build step, nothing to copy into the package).

/** The page, its API base set to where the console is mounted. */
export function consolePageHtml(base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpenAgentIO console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/console.css">
</head>
<body data-base="${base}">
<header>
  <h1>OpenAgentIO console</h1>
  <span id="feed-state" class="pill">connecting</span>
  <span id="swept" class="muted"></span>
</header>
<main>
  <section id="topology-view">
    <h2>Topology <small class="muted">agents from discovery, calls observed by the buses (last 10 s)</small></h2>
    <svg id="topology" viewBox="0 0 1000 560" role="img" aria-label="agents and the calls between them"></svg>
    <table id="instances"><thead><tr><th>agent</th><th>instance</th><th>version</th><th>health</th><th>calls served</th><th></th></tr></thead><tbody></tbody></table>
    <table id="edges"><thead><tr><th>caller</th><th>agent</th><th>target</th><th>calls/s</th><th>errors</th><th>calls (10 s)</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="traffic-view">
    <h2>Traffic <small class="muted">per target, last minute; the lines are calls/s and p99 over the window; busy targets first</small></h2>
    <table id="traffic"><thead><tr><th>agent</th><th>target</th><th>kind</th><th>calls/s</th><th>p50</th><th>p99</th><th>errors</th><th>calls (1 min)</th><th>calls/s over time</th><th>p99 over time</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="conversations-view">
    <h2>Conversations <small class="muted">recent spans kept by each process, gathered over the bus</small></h2>
    <form id="conv-search">
      <label>session <input id="conv-session" size="18"></label>
      <label>trace id <input id="conv-trace" size="34"></label>
      <label>last <select id="conv-minutes"><option value="5">5 min</option><option value="15" selected>15 min</option><option value="60">1 h</option><option value="1440">24 h</option></select></label>
      <button type="submit">search</button>
    </form>
    <p id="conv-note" class="muted"></p>
    <table id="conversations"><thead><tr><th>started</th><th>trace</th><th>session</th><th>agents</th><th>spans</th><th>duration</th><th>errors</th><th></th></tr></thead><tbody></tbody></table>
    <div id="timeline"></div>
  </section>
  <section id="tasks-view">
    <h2>Tasks</h2>
    <form id="task-filter">
      <label>state <select id="task-state"><option value="">any</option><option>submitted</option><option>working</option><option>input-required</option><option>completed</option><option>failed</option><option>canceled</option><option>rejected</option></select></label>
      <label>target <input id="task-target" placeholder="any target" size="18"></label>
    </form>
    <p id="tasks-note" class="muted"></p>
    <table id="tasks"><thead><tr><th>task</th><th>target</th><th>state</th><th>attempts</th><th>progress</th><th>session</th><th>updated</th><th></th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script src="${base}/console.js"></script>
</body>
</html>
`;
}
