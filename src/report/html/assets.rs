//! The inline stylesheet and script of the HTML report. Constants only:
//! no run data ever goes into them (data lives in escaped HTML text and
//! attributes), so the script's CSP hash is stable.

/// The stylesheet: system fonts, neutral palette, status colors, light and
/// dark schemes, responsive side-by-side panes.
pub(super) const CSS: &str = r#"
:root{--bg:#f6f8fa;--card:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#eef1f4;
--pass:#1a7f37;--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--skip:#9a6700;--skip-bg:#fff8c5;
--err:#8250df;--err-bg:#fbefff;--dep:#1b7c83;--dep-bg:#e0f5f6;--accent:#0969da;--mark:#fff1a8;--mono:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#151b23;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--soft:#212830;
--pass:#3fb950;--pass-bg:#12261e;--fail:#f85149;--fail-bg:#2d1214;--skip:#d29922;--skip-bg:#272115;--err:#ab7df8;--err-bg:#231a33;--dep:#39c5cf;--dep-bg:#0f2a2d;--accent:#4493f8;--mark:#5c4b00}}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
code,pre,.mono{font-family:var(--mono);font-size:12.5px}
.wrap{max-width:1280px;margin:0 auto;padding:0 24px}
header.top{background:var(--card);border-bottom:1px solid var(--line);padding:20px 0 16px}
.titlebar{display:flex;align-items:center;gap:12px;flex-wrap:wrap}
h1{font-size:20px;margin:0;font-weight:600}
h2{font-size:16px;margin:28px 0 12px;font-weight:600}
.verdict{font-weight:700;font-size:12px;letter-spacing:.04em;text-transform:uppercase;padding:3px 10px;border-radius:999px}
.verdict.failed{background:var(--fail-bg);color:var(--fail)}.verdict.passed{background:var(--pass-bg);color:var(--pass)}.verdict.errored{background:var(--err-bg);color:var(--err)}
dl.meta{display:flex;flex-wrap:wrap;gap:4px 24px;margin:10px 0 16px;color:var(--muted)}
dl.meta div{display:flex;gap:6px;min-width:0}dl.meta dt{font-weight:600}dl.meta dd{margin:0;overflow-wrap:anywhere}
.totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:12px}
.stat{appearance:none;font:inherit;text-align:left;cursor:pointer;background:var(--card);border:1px solid var(--line);border-left-width:4px;border-radius:8px;padding:10px 14px;color:var(--fg)}
.stat:hover{background:var(--soft)}.stat[aria-pressed=true]{outline:2px solid var(--accent);outline-offset:1px}
.stat .num{display:block;font-size:30px;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums}
.stat .lbl{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.stat.passed{border-left-color:var(--pass)}.stat.passed .num{color:var(--pass)}
.stat.failed{border-left-color:var(--fail)}.stat.failed .num{color:var(--fail)}
.stat.skipped{border-left-color:var(--skip)}.stat.skipped .num{color:var(--skip)}
.stat.errored{border-left-color:var(--err)}.stat.errored .num{color:var(--err)}
.stat.all{border-left-color:var(--muted)}
.stat.departs{border-left-color:var(--dep)}.stat.departs .num{color:var(--dep)}
.filters{position:sticky;top:0;z-index:5;background:var(--bg);border-bottom:1px solid var(--line);padding:10px 0}
.filters .wrap{display:flex;flex-wrap:wrap;gap:10px 20px;align-items:center}
.group{display:flex;flex-wrap:wrap;gap:6px;align-items:center}.group>.glabel{color:var(--muted);font-size:12px;font-weight:600;margin-right:2px}
.chip{appearance:none;font:inherit;font-size:13px;cursor:pointer;border:1px solid var(--line);background:var(--card);color:var(--fg);border-radius:999px;padding:2px 10px}
.chip:hover{background:var(--soft)}.chip[aria-pressed=true]{background:var(--fg);color:var(--card);border-color:var(--fg)}
.chip .n{opacity:.7;margin-left:4px;font-variant-numeric:tabular-nums}
.chip.dep{border-color:var(--dep);color:var(--dep)}.chip.dep[aria-pressed=true]{background:var(--dep);border-color:var(--dep);color:var(--card)}
input.search{font:inherit;padding:4px 10px;border:1px solid var(--line);border-radius:6px;background:var(--card);color:var(--fg);min-width:200px}
.tools{margin-left:auto;display:flex;gap:6px}
.scenario{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--line);border-radius:8px;margin:0 0 10px}
.scenario.passed{border-left-color:var(--pass)}.scenario.failed{border-left-color:var(--fail)}.scenario.skipped{border-left-color:var(--skip)}.scenario.errored{border-left-color:var(--err)}
.scenario>summary{list-style:none;cursor:pointer;padding:10px 14px;display:grid;grid-template-columns:auto 1fr auto;gap:2px 12px;align-items:baseline}
.scenario>summary::-webkit-details-marker{display:none}
.scenario>summary .sid{font-family:var(--mono);font-weight:600;overflow-wrap:anywhere}
.scenario>summary .stitle{grid-column:2/4;color:var(--muted)}
.scenario>summary .why{grid-column:2/4;font-size:13px;overflow-wrap:anywhere}
.scenario.failed>summary .why{color:var(--fail)}.scenario.errored>summary .why{color:var(--err)}.scenario.skipped>summary .why{color:var(--skip)}
.scenario>summary .why.dep{color:var(--dep)}
.side{color:var(--muted);font-size:12px;white-space:nowrap}
.badge{display:inline-block;min-width:92px;text-align:center;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.04em;border-radius:4px;padding:2px 6px}
.badge.passed{background:var(--pass-bg);color:var(--pass)}.badge.failed{background:var(--fail-bg);color:var(--fail)}
.badge.skipped{background:var(--skip-bg);color:var(--skip)}.badge.errored{background:var(--err-bg);color:var(--err)}
.pill{display:inline-block;border:1px solid var(--line);border-radius:999px;padding:0 8px;font-size:11px;color:var(--muted);margin-left:4px}
.pill.must{border-color:var(--fg);color:var(--fg);font-weight:600}.pill.bad{border-color:var(--fail);color:var(--fail)}
.pill.dep{border-color:var(--dep);color:var(--dep)}
.sbody{border-top:1px solid var(--line);padding:12px 14px 14px}
.sbody p{margin:0 0 6px}.lbl2{color:var(--muted);font-weight:600;margin-right:6px}
blockquote.rule{margin:0 0 8px;padding:6px 12px;border-left:3px solid var(--accent);background:var(--soft);border-radius:0 6px 6px 0}
ol.steps{list-style:none;padding:0;margin:10px 0 0}
ol.steps>li{border:1px solid var(--line);border-radius:6px;margin:6px 0;background:var(--card)}
ol.steps>li.departs{border-color:var(--dep)}ol.steps>li.failed{border-color:var(--fail)}ol.steps>li.errored{border-color:var(--err)}
.step>details>summary{cursor:pointer;padding:6px 10px;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.step .ico{font-weight:700;width:1em;text-align:center}
.step.passed .ico{color:var(--pass)}.step.failed .ico{color:var(--fail)}.step.skipped .ico{color:var(--skip)}.step.errored .ico{color:var(--err)}
.step .idx{color:var(--muted);font-variant-numeric:tabular-nums}
.step .rl{font-family:var(--mono);font-size:12.5px;color:var(--muted);overflow-wrap:anywhere}
.sdetail{padding:4px 12px 12px;border-top:1px solid var(--soft)}
.where{color:var(--muted);font-size:12.5px;margin:6px 0}
.finding,.departure{border:1px solid var(--fail);background:var(--fail-bg);border-radius:6px;padding:8px 10px;margin:8px 0}
.departure{border-color:var(--dep);background:var(--dep-bg)}
.finding .kind,.departure .kind{font-family:var(--mono);font-size:11px;font-weight:700;text-transform:uppercase;color:var(--fail);margin-right:8px}
.departure .kind{color:var(--dep)}
.finding .msg,.departure .msg{font-weight:600}
.finding dl,.departure dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0 0}
.finding dt,.departure dt{color:var(--muted);font-size:12px}.finding dd,.departure dd{margin:0;min-width:0}
.finding dd code,.departure dd code{white-space:pre-wrap;overflow-wrap:anywhere}
section.departures{border:1px solid var(--dep);border-left-width:4px;border-radius:6px;padding:8px 12px;margin:10px 0}
section.departures h3{margin:0 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--dep)}
section.departures h3 .n{color:var(--muted);font-weight:400;margin-left:6px;text-transform:none;letter-spacing:0}
section.departures .note{color:var(--muted);font-size:12.5px}
.depstep{border-top:1px solid var(--soft);padding-top:6px;margin-top:6px}
code.exp{color:var(--pass)}code.act{color:var(--fail)}.departure code.act{color:var(--dep)}
.exchange{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin-top:10px;align-items:start}
@media (max-width:900px){.exchange{grid-template-columns:1fr}.tools{margin-left:0}}
.pane{border:1px solid var(--line);border-radius:6px;min-width:0;background:var(--bg)}
.pane h4{margin:0;padding:6px 10px;font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);border-bottom:1px solid var(--line);display:flex;justify-content:space-between;gap:8px}
.pane .line{padding:6px 10px;font-family:var(--mono);font-size:12.5px;overflow-wrap:anywhere;border-bottom:1px solid var(--line)}
.method{font-weight:700}
.st{font-weight:700}.st.s2{color:var(--pass)}.st.s3{color:var(--accent)}.st.s4,.st.s5{color:var(--fail)}
.pane details{border-bottom:1px solid var(--line)}.pane details>summary{cursor:pointer;padding:4px 10px;color:var(--muted);font-size:12px}
pre{margin:0;padding:8px 10px;overflow:auto;max-height:480px;white-space:pre-wrap;overflow-wrap:anywhere}
pre .k{color:#0550ae}pre .s{color:#0a3069}pre .n{color:#953800}pre .b{color:#8250df}
@media (prefers-color-scheme:dark){pre .k{color:#79c0ff}pre .s{color:#a5d6ff}pre .n{color:#ffa657}pre .b{color:#d2a8ff}}
mark.hit{background:var(--mark);color:inherit;border-radius:3px;outline:2px solid var(--fail);outline-offset:0}
mark.hit.dep{background:var(--dep-bg);outline-color:var(--dep)}
.none{color:var(--muted);font-style:italic;padding:6px 10px}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.miss td{background:var(--fail-bg)}tr.miss td.hits{color:var(--fail);font-weight:600}
.bar{height:8px;background:var(--soft);border-radius:4px;overflow:hidden;max-width:320px;margin:4px 0 10px}.bar>span{display:block;height:100%;background:var(--pass)}
.tablewrap{overflow-x:auto}
.covsum{display:flex;flex-wrap:wrap;gap:0 32px}.covsum p{margin:0}.legend{color:var(--muted);font-size:12px}
.cov{display:inline-block;font-family:var(--mono);font-size:12px;border-radius:4px;padding:0 6px;margin:1px 0;border:1px solid transparent;cursor:default}
.cov.ok{background:var(--pass-bg);color:var(--pass);border-color:var(--pass)}
.cov.miss{color:var(--fail);border-color:var(--fail);border-style:dashed}
.cov.und{background:var(--skip-bg);color:var(--skip);border-color:var(--skip)}
td.chips{line-height:1.9;min-width:300px}p.chips.codes{line-height:2}
footer{color:var(--muted);font-size:12px;padding:24px 0 40px}
@media print{.filters{display:none}details:not([open])>*:not(summary){display:block}}
"#;

/// The script: outcome, area and text filters, expand/collapse all. The
/// outcome filter `departs` keeps the scenarios whose `data-departures` is
/// not `0`, whatever their outcome.
/// Reads `data-*` attributes only; never evaluates data. The URL fragment
/// preselects an outcome (`report.html#failed`, `#departs`; clicking an outcome filter
/// writes it back, so a filtered view can be shared), and a link to a
/// scenario (`#s-ID`) hidden by the filters clears them and opens it.
pub(super) const JS: &str = r#"
(function(){
  var state={outcome:'all',area:'all',q:''};
  var items=Array.prototype.slice.call(document.querySelectorAll('details.scenario'));
  var empty=document.getElementById('empty');
  function press(sel,attr,val){
    document.querySelectorAll(sel).forEach(function(b){b.setAttribute('aria-pressed',String(b.getAttribute(attr)===val));});
  }
  function outcomeOk(el){
    if(state.outcome==='all'){return true;}
    if(state.outcome==='departs'){return (el.getAttribute('data-departures')||'0')!=='0';}
    return el.getAttribute('data-outcome')===state.outcome;
  }
  function apply(){
    var shown=0;
    items.forEach(function(el){
      var ok=outcomeOk(el)
        &&(state.area==='all'||el.getAttribute('data-area')===state.area)
        &&(!state.q||(el.getAttribute('data-search')||'').indexOf(state.q)!==-1);
      el.hidden=!ok; if(ok){shown++;}
    });
    if(empty){empty.hidden=shown>0;}
    press('[data-outcome-filter]','data-outcome-filter',state.outcome);
    press('[data-area-filter]','data-area-filter',state.area);
  }
  document.addEventListener('click',function(e){
    var t=e.target.closest?e.target.closest('button'):null; if(!t){return;}
    if(t.hasAttribute('data-outcome-filter')){state.outcome=t.getAttribute('data-outcome-filter');apply();}
    else if(t.hasAttribute('data-area-filter')){state.area=t.getAttribute('data-area-filter');apply();}
    else if(t.id==='expand-all'||t.id==='collapse-all'){
      var open=t.id==='expand-all';
      items.forEach(function(el){if(!el.hidden){el.open=open;}});
    }
  });
  var q=document.getElementById('q');
  if(q){q.addEventListener('input',function(){state.q=q.value.trim().toLowerCase();apply();});}
  var outcomes=['all','passed','failed','skipped','errored','departs'];
  function fromHash(){
    var h='';
    try{h=decodeURIComponent((location.hash||'').slice(1));}catch(err){return;}
    if(outcomes.indexOf(h)!==-1){state.outcome=h;apply();return;}
    if(h.indexOf('s-')!==0){return;}
    var el=document.getElementById(h); if(!el){return;}
    if(el.hidden){state.outcome='all';state.area='all';state.q='';if(q){q.value='';}apply();}
    el.open=true; el.scrollIntoView();
  }
  document.addEventListener('click',function(e){
    var t=e.target.closest?e.target.closest('[data-outcome-filter]'):null; if(!t){return;}
    try{history.replaceState(null,'',state.outcome==='all'?location.pathname+location.search:'#'+state.outcome);}catch(err){}
  });
  window.addEventListener('hashchange',fromHash);
  apply();
  fromHash();
})();
"#;
