// The explorer's HTML page: a shell the page script (explore.js, a classic script so that it runs from file://)
// fills in. Styles are inline; nothing is fetched from the network.

const CSS = `
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: #222; background: #fafafa; }
#app { display: grid; grid-template-columns: 330px 1fr; grid-template-areas: "head head" "controls plots" "side plots"; gap: 8px 16px; padding: 12px; }
header { grid-area: head; } header h1 { font-size: 18px; margin: 0; } header p { margin: 2px 0 0; color: #555; }
#controls { grid-area: controls; } #side { grid-area: side; } #plots { grid-area: plots; display: flex; flex-wrap: wrap; gap: 12px; align-content: flex-start; }
.row { display: flex; align-items: center; gap: 6px; margin: 3px 0; } .row > label:first-child { width: 92px; flex: none; }
.row input[type=range] { width: 110px; } .row input[type=number] { width: 78px; } .row input[type=text] { width: 110px; }
.doc { color: #666; font-size: 12px; margin: 0 0 4px 98px; }
#stats { display: grid; grid-template-columns: auto auto; gap: 1px 10px; margin: 10px 0; } #stats dt { color: #555; } #stats dd { margin: 0; font-variant-numeric: tabular-nums; }
#drop { border: 2px dashed #aaa; border-radius: 6px; padding: 8px; color: #555; } #drop.over { border-color: #1b9e77; background: #eefaf5; }
.pick { text-decoration: underline; cursor: pointer; } .pick input { display: none; }
#problems li { color: #a33; } #notes { color: #555; font-size: 12px; padding-left: 16px; }
.panel { background: white; border: 1px solid #ddd; border-radius: 4px; padding: 6px; }
.downloads { display: flex; gap: 4px; justify-content: flex-end; } .downloads button { font-size: 11px; }
`;

/** The page, loading its script from `script` (a path relative to the page). */
export function pageHtml(script = 'explore.js'): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>signalprop explore</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<div id="app"><noscript>signalprop explore needs JavaScript.</noscript></div>
<script src="${script}"></script>
</body>
</html>
`;
}
