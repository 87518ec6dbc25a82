/** The console page's stylesheet (served as `/<path>/console.css`). */
export const CONSOLE_PAGE_CSS = String.raw`
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
header { display: flex; gap: 12px; align-items: baseline; padding: 10px 20px; background: #1d2330; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 8px 20px 40px; }
section { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 14px 14px; margin: 12px 0; }
h2 { font-size: 16px; margin: 6px 0 10px; }
.muted { color: #7a8394; font-weight: normal; }
header .muted { color: #b8c0cf; }
.pill { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #7a8394; }
.pill.live { background: #1f9d55; }
.pill.offline { background: #c53030; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eef0f4; font-variant-numeric: tabular-nums; }
th { font-weight: 600; color: #4a5263; }
tr.failing td { color: #c53030; }
svg#topology { width: 100%; height: auto; background: #fbfcfd; border: 1px solid #eef0f4; }
.node rect { fill: #fff; stroke: #4a6fa5; stroke-width: 1.5; }
.node text { font-size: 12px; fill: #1d2330; }
.node .title { font-weight: 700; font-size: 13px; }
.node .target { fill: #4a5263; }
.instance.up { fill: #1f9d55; }
.instance.stale { fill: #a0a7b4; }
.instance.drained { fill: #d69e2e; }
tr.stale td { opacity: 0.4; }
tr.drained td { color: #975a16; }
.node.stale { opacity: 0.3; transition: opacity 0.6s; }
.edge line, .edge path { stroke: #4a6fa5; stroke-width: 2; fill: none; marker-end: url(#arrow); }
.edge.idle line, .edge.idle path { stroke: #c3cad6; stroke-dasharray: 4 3; }
.edge.failing line, .edge.failing path { stroke: #c53030; }
.edge text { font-size: 11px; fill: #4a5263; }
.edge.failing text { fill: #c53030; }
.spark { width: 160px; height: 24px; }
.spark polyline { fill: none; stroke: #4a6fa5; stroke-width: 1.5; }
.spark.p99 polyline { stroke: #b7791f; }
.state-working, .state-submitted { color: #2b6cb0; }
.state-completed { color: #1f9d55; }
.state-failed, .state-rejected { color: #c53030; }
.state-canceled { color: #7a8394; }
form label { margin-right: 14px; }
#conversations tbody tr { cursor: pointer; }
#conversations tbody tr.selected td { background: #eef3fb; }
#timeline { margin-top: 10px; }
#timeline h3 { font-size: 14px; margin: 8px 0; }
.hop { display: grid; grid-template-columns: 110px 260px 80px 1fr; gap: 8px; align-items: center; font-size: 12px; padding: 1px 0; }
.hop .bar { position: relative; height: 12px; background: #f1f3f7; }
.hop .bar span { position: absolute; top: 0; height: 12px; background: #4a6fa5; min-width: 2px; border-radius: 2px; }
.hop.error .bar span { background: #c53030; }
.hop.error .name { color: #c53030; }
`;
