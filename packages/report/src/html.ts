import type { ExperimentResults } from '@llm-recipes/profile';
import type { Comparison } from './compare.ts';
import { costPerMillionTokens, slaVerdict } from './markdown.ts';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** JSON safe inside a <script> element: no `</script>`, no HTML comment openers. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#14324a;color:#fff;padding:14px 24px}header h1{font-size:18px;margin:0}header p{margin:4px 0 0;opacity:.85}
main{display:grid;grid-template-columns:minmax(520px,1fr) 420px;gap:16px;padding:16px 24px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:12px 16px;margin-bottom:16px}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%;font-size:12px}
th,td{border-bottom:1px solid #e6e9ee;padding:3px 6px;text-align:right}th:first-child,td:first-child{text-align:left}
.ok{color:#17803d}.bad{color:#b42318}svg text{font-size:11px;fill:#445}
.pt{cursor:pointer}.pt:hover{stroke:#000;stroke-width:2}.pt.sel{stroke:#000;stroke-width:2.5}
pre{background:#0f1720;color:#d7e1ea;padding:8px;max-height:420px;overflow:auto;font-size:11px}
button{margin-right:6px}.verdict{font-weight:600}`;

// The page script: draws SVG charts from the embedded data and wires the point → config/DGD panel. No libraries.
const JS = `
const D=JSON.parse(document.getElementById('report-data').textContent);
const NS='http://www.w3.org/2000/svg';
function el(t,a,p){const e=document.createElementNS(NS,t);for(const k in a)e.setAttribute(k,a[k]);if(p)p.appendChild(e);return e}
function scale(v0,v1,p0,p1){const d=(v1-v0)||1;return v=>p0+(v-v0)/d*(p1-p0)}
function axes(svg,W,H,m,xs,ys,xl,yl){const sx=scale(xs[0],xs[1],m,W-10),sy=scale(ys[0],ys[1],H-m,10);
 el('line',{x1:m,y1:H-m,x2:W-10,y2:H-m,stroke:'#889'},svg);el('line',{x1:m,y1:10,x2:m,y2:H-m,stroke:'#889'},svg);
 for(let i=0;i<=4;i++){const xv=xs[0]+(xs[1]-xs[0])*i/4,yv=ys[0]+(ys[1]-ys[0])*i/4;
  el('text',{x:sx(xv),y:H-m+14,'text-anchor':'middle'},svg).textContent=xv.toFixed(0);
  el('text',{x:m-4,y:sy(yv)+4,'text-anchor':'end'},svg).textContent=yv.toFixed(yv<10?1:0)}
 el('text',{x:(m+W)/2,y:H-4,'text-anchor':'middle'},svg).textContent=xl;
 const t=el('text',{x:12,y:(H-m)/2,'text-anchor':'middle',transform:'rotate(-90 12 '+(H-m)/2+')'},svg);t.textContent=yl;return[sx,sy]}
function pareto(){const svg=document.getElementById('pareto-chart'),W=640,H=380,m=48;const P=D.results.points;if(!P.length)return;
 const xmax=Math.max(...P.map(p=>p.tokensPerSecondPerUser))*1.1,ymax=Math.max(...P.map(p=>p.tokensPerSecondPerGpu))*1.1;
 const[sx,sy]=axes(svg,W,H,m,[0,xmax],[0,ymax],'tokens/s/user','tokens/s/GPU');
 const front=D.results.pareto.map(id=>P.find(p=>p.id===id)).filter(Boolean).sort((a,b)=>a.tokensPerSecondPerUser-b.tokensPerSecondPerUser);
 el('polyline',{points:front.map(p=>sx(p.tokensPerSecondPerUser)+','+sy(p.tokensPerSecondPerGpu)).join(' '),fill:'none',stroke:'#2b6cb0','stroke-width':1.5},svg);
 for(const p of P){const on=D.results.pareto.includes(p.id);const c=el('circle',{cx:sx(p.tokensPerSecondPerUser),cy:sy(p.tokensPerSecondPerGpu),r:on?6:4,
  fill:p.meetsSla?(on?'#2b6cb0':'#90b4dd'):'#d9822b',class:'pt'+(on?' front':''),'data-id':p.id},svg);
  el('title',{},c).textContent=p.config+' c='+p.concurrency+' '+p.isl+'/'+p.osl;c.addEventListener('click',()=>show(p.id))}}
function show(id){const p=D.results.points.find(x=>x.id===id);const c=D.results.configs.find(x=>x.config===p.config)||D.results.configs[0];
 document.querySelectorAll('.pt').forEach(e=>e.classList.toggle('sel',e.getAttribute('data-id')===id));
 document.getElementById('point-title').textContent=p.config+' · concurrency '+p.concurrency+' · ISL '+p.isl+'/OSL '+p.osl;
 const rows=[['tokens/s/user',p.tokensPerSecondPerUser],['tokens/s/GPU',p.tokensPerSecondPerGpu],['output tok/s',p.outputTokensPerSecond],['TTFT p50 ms',p.ttftP50],['TTFT p90 ms',p.ttftP90],['TPOT p50 ms',p.tpotP50],['ITL p50 ms (chunk gaps)',p.itlP50],['E2E p50 ms',p.e2eP50],['GPUs',p.gpus],['error rate %',p.errorRate*100]];
 document.getElementById('point-metrics').innerHTML=rows.map(r=>'<tr><td>'+r[0]+'</td><td>'+(r[1]==null?'—':Number(r[1]).toFixed(2))+'</td></tr>').join('')+'<tr><td>SLA</td><td class="'+(p.meetsSla?'ok':'bad')+'">'+(p.meetsSla?'met':'missed')+'</td></tr>';
 document.getElementById('dgd').textContent=c?c.dgdYaml:'';document.getElementById('point-panel').hidden=false}
function latency(id,key,label){const svg=document.getElementById(id),W=400,H=220,m=44;const P=D.results.points.filter(p=>p[key]!=null);if(!P.length)return;
 const groups={};for(const p of P){(groups[p.config+' '+p.isl+'/'+p.osl]=groups[p.config+' '+p.isl+'/'+p.osl]||[]).push(p)}
 const[sx,sy]=axes(svg,W,H,m,[0,Math.max(...P.map(p=>p.concurrency))],[0,Math.max(...P.map(p=>p[key]))*1.1],'concurrency',label);
 const colors=['#2b6cb0','#d9822b','#2f855a','#9b2c2c','#6b46c1'];let i=0;
 for(const g in groups){const pts=groups[g].sort((a,b)=>a.concurrency-b.concurrency);const col=colors[i++%colors.length];
  el('polyline',{points:pts.map(p=>sx(p.concurrency)+','+sy(p[key])).join(' '),fill:'none',stroke:col,'stroke-width':1.5},svg);
  for(const p of pts)el('circle',{cx:sx(p.concurrency),cy:sy(p[key]),r:3,fill:col},svg);
  el('text',{x:W-12,y:14*i,'text-anchor':'end',fill:col},svg).textContent=g}}
document.getElementById('copy').addEventListener('click',()=>{const t=document.getElementById('dgd').textContent;(navigator.clipboard?navigator.clipboard.writeText(t):Promise.reject()).catch(()=>{const r=document.createRange();r.selectNodeContents(document.getElementById('dgd'));getSelection().removeAllRanges();getSelection().addRange(r)})});
document.getElementById('download').addEventListener('click',()=>{const a=document.createElement('a');a.href=URL.createObjectURL(new Blob([document.getElementById('dgd').textContent],{type:'application/yaml'}));a.download='dgd.yaml';a.click()});
pareto();latency('ttft-chart','ttftP50','TTFT p50 ms');latency('itl-chart','tpotP50','ITL (TPOT) p50 ms');
if(D.results.selected)show(D.results.selected.pointId);`;

/** A single self-contained HTML file: interactive Pareto chart (click a point → its config and DGD), latency charts, comparison. */
export function renderHtmlReport(r: ExperimentResults, options: { comparison?: Comparison | undefined } = {}): string {
  const e = r.experiment;
  const verdict = slaVerdict(r);
  const rows = [...r.points]
    .sort((a, b) => a.config.localeCompare(b.config) || a.isl - b.isl || a.concurrency - b.concurrency)
    .map((p) => {
      const cost = costPerMillionTokens(p, r.gpuHourlyUsd);
      return `<tr><td>${esc(p.config)}${r.pareto.includes(p.id) ? ' ◆' : ''}</td><td>${p.isl}/${p.osl}</td><td>${p.concurrency}</td><td>${p.tokensPerSecondPerUser.toFixed(1)}</td><td>${p.tokensPerSecondPerGpu.toFixed(1)}</td><td>${p.ttftP50?.toFixed(1) ?? '—'}</td><td>${(p.tpotP50 ?? p.itlP50)?.toFixed(2) ?? '—'}</td><td class="${p.meetsSla ? 'ok' : 'bad'}">${p.meetsSla ? 'met' : 'missed'}</td><td>${cost === null ? '—' : `$${cost.toFixed(3)}`}</td></tr>`;
    })
    .join('\n');
  const cmp = options.comparison;
  const cmpHtml = cmp
    ? `<section id="comparison"><h2>Comparison</h2><p class="verdict" id="comparison-verdict">${esc(cmp.verdict)}: ${esc(cmp.summary)}</p>
<p>Ratio of per-request medians (candidate/base), 95 % bootstrap interval over requests (${cmp.resamples} resamples), tolerance ±${(cmp.tolerance * 100).toFixed(0)} %.</p>
<table><tr><th>point</th><th>metric</th><th>base p50</th><th>candidate p50</th><th>ratio</th><th>95 % CI</th><th>verdict</th></tr>
${cmp.points.flatMap((p) => p.metrics.map((m) => `<tr><td>${esc(p.point)}</td><td>${m.metric}</td><td>${m.baseMedian.toFixed(2)}</td><td>${m.candidateMedian.toFixed(2)}</td><td>${m.ratio.toFixed(3)}</td><td>[${m.ciLow.toFixed(3)}, ${m.ciHigh.toFixed(3)}]</td><td class="${m.verdict === 'regression' ? 'bad' : 'ok'}">${m.verdict}</td></tr>`)).join('\n')}
</table></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(e.recipe)} — llm-recipes report</title><style>${CSS}</style></head>
<body><header><h1>${esc(e.recipe)}${e.variant ? ` (${esc(e.variant)})` : ''} — ${esc(e.strategy)}</h1>
<p>${esc(e.model)} · ${esc(e.backend)} · ${esc(e.gpu)} · ${esc(e.mode)} · target ${esc(e.target)} · experiment ${esc(e.id)}</p></header>
<main><div>
<section><h2>Summary</h2><p class="verdict" id="sla-verdict">${esc(verdict.text.replace(/\*\*/g, ''))}</p>
${r.selected ? `<p>Selected: <b>${esc(r.selected.config)}</b> — ${esc(r.selected.reason)}</p>` : '<p>No selection.</p>'}</section>
<section><h2>Pareto front (click a point)</h2><svg id="pareto-chart" width="640" height="380" role="img" aria-label="tokens/s/GPU vs tokens/s/user"></svg>
<p>◆ blue: Pareto front meeting the SLA · light blue: other SLA-meeting points · orange: misses the SLA</p></section>
<section><h2>Latency vs concurrency</h2><svg id="ttft-chart" width="400" height="220"></svg><svg id="itl-chart" width="400" height="220"></svg></section>
${cmpHtml}
<section><h2>All points</h2><table><tr><th>config</th><th>ISL/OSL</th><th>conc.</th><th>tok/s/user</th><th>tok/s/GPU</th><th>TTFT p50</th><th>ITL (TPOT) p50</th><th>SLA</th><th>$/M tok</th></tr>
${rows}</table></section>
</div><aside><section id="point-panel" hidden><h2 id="point-title"></h2><table id="point-metrics"></table>
<h2>DynamoGraphDeployment</h2><button id="copy" type="button">Copy</button><button id="download" type="button">Download dgd.yaml</button><pre id="dgd"></pre></section></aside></main>
<script type="application/json" id="report-data">${scriptJson({ results: r })}</script>
<script>${JS}</script></body></html>
`;
}
