//! The report as one self-contained HTML page: inline CSS, inline SVG charts and a few
//! lines of inline JavaScript (sortable tables), no request of any kind, readable
//! offline and printable, light or dark with the reader's system setting.
//!
//! The page holds the JSON report itself (`<script type="application/json"
//! id="errlens-report">`), so tools read the same numbers the page shows; the headline
//! numbers are filled in from it by the page's script and also written as text, so the
//! page reads the same without JavaScript.

use super::table;
use errlens_audit::Report;
use std::fmt::Write;

/// HTML-escapes text.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--req:#8c959f;--fail:#cf222e;--r429:#bf8700;--r412:#8250df;--bar:#0969da}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--card:#161b22;--req:#6e7681;--fail:#ff7b72;--r429:#d29922;--r412:#bc8cff;--bar:#4493f8}}
*{box-sizing:border-box}
body{margin:0;padding:16px;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1200px;margin:0 auto}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:14px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.card b{display:block;font-size:22px;font-variant-numeric:tabular-nums}
.card span{color:var(--muted);font-size:12px}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 9px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{background:var(--card);cursor:pointer;user-select:none;position:sticky;top:0}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num,th.num{text-align:right}
tr:last-child td{border-bottom:0}
svg.chart{display:block;width:100%;height:200px;background:var(--card);border:1px solid var(--line);border-radius:8px}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:12px;margin-top:2px}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;color:var(--muted);margin:4px 0}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.bars{display:grid;grid-template-columns:minmax(120px,max-content) 1fr max-content;gap:4px 10px;align-items:center}
.bars .track{background:var(--card);border-radius:3px;height:14px}
.bars .fill{background:var(--fail);height:14px;border-radius:3px}
@media print{th{position:static}.scroll{overflow:visible}}
@media (max-width:600px){body{padding:10px}.card b{font-size:18px}th,td{padding:4px 6px}}
"#;

const SCRIPT: &str = r#"
(function(){
  var el = document.getElementById('errlens-report');
  if (el) {
    var data = JSON.parse(el.textContent);
    var put = function(id, v){ var e = document.getElementById(id); if (e) e.textContent = v; };
    var n = function(x){ return Number(x).toLocaleString('en-US'); };
    put('h-records', n(data.records));
    put('h-failures', n(data.failures));
    put('h-hidden', n(data.hidden_failures));
    put('h-wasted', n(data.retries.wasted));
    put('h-429', n(data.pressure.rate_limited));
    put('h-412', n(data.pressure.client_id_failed));
  }
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('th').forEach(function(th, col){
      th.addEventListener('click', function(){
        var asc = th.getAttribute('aria-sort') !== 'ascending';
        t.querySelectorAll('th').forEach(function(h){ h.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var key = function(r){
          var s = r.cells[col].getAttribute('data-v') || r.cells[col].textContent;
          var f = parseFloat(s.replace(/[,%]/g, ''));
          return isNaN(f) ? s : f;
        };
        rows.sort(function(a, b){
          var x = key(a), y = key(b);
          var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
          return asc ? c : -c;
        });
        rows.forEach(function(r){ body.appendChild(r); });
      });
    });
  });
  document.body.setAttribute('data-ready', '1');
})();
"#;

fn is_num(s: &str) -> bool {
    let t = s.trim_end_matches('%').replace(',', "");
    !t.is_empty() && t.parse::<f64>().is_ok()
}

pub(crate) fn table_html(out: &mut String, t: &super::TextTable) {
    if let Some(title) = &t.title {
        let _ = writeln!(out, "<h2>{}</h2>", esc(title));
    }
    out.push_str("<div class=\"scroll\"><table class=\"sortable\"><thead><tr>");
    let numeric: Vec<bool> = (0..t.head.len())
        .map(|c| {
            !t.rows.is_empty()
                && t.rows
                    .iter()
                    .all(|r| r.get(c).is_some_and(|v| v.is_empty() || is_num(v)))
        })
        .collect();
    for (c, h) in t.head.iter().enumerate() {
        let class = if numeric[c] { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in &t.rows {
        out.push_str("<tr>");
        for (c, v) in row.iter().enumerate() {
            let class = if numeric.get(c).copied().unwrap_or(false) {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", esc(v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>\n");
}

/// Requests, 429 and 412 per minute, as an SVG line chart stretched to the page's
/// width (labels are HTML around it, so they stay readable on a phone).
fn minute_chart(out: &mut String, r: &Report) {
    let m = &r.pressure.per_minute;
    if m.is_empty() {
        return;
    }
    let max = m.iter().map(|x| x.slice.requests).max().unwrap_or(1).max(1);
    let _ = write!(
        out,
        "<h2>Per minute</h2><div class=\"legend\"><span><i style=\"background:var(--req)\"></i>requests</span><span><i style=\"background:var(--r429)\"></i>429</span><span><i style=\"background:var(--r412)\"></i>412</span><span>max {} requests a minute</span></div>",
        super::thousands(max)
    );
    let (w, h) = (1000.0, 200.0);
    let step = if m.len() > 1 {
        w / (m.len() - 1) as f64
    } else {
        0.0
    };
    let y = |v: u64| h - 4.0 - (v as f64 / max as f64) * (h - 8.0);
    let _ = write!(
        out,
        "<svg id=\"chart-minutes\" class=\"chart\" viewBox=\"0 0 {w} {h}\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"requests, 429 and 412 per minute\"><line x1=\"0\" y1=\"{0}\" x2=\"{w}\" y2=\"{0}\" stroke=\"var(--line)\" vector-effect=\"non-scaling-stroke\"/>",
        h - 4.0
    );
    for (series, color) in [
        (0usize, "var(--req)"),
        (1, "var(--r429)"),
        (2, "var(--r412)"),
    ] {
        let pts: Vec<String> = (0..m.len())
            .map(|i| {
                let v = match series {
                    0 => m[i].slice.requests,
                    1 => m[i].slice.r429,
                    _ => m[i].slice.r412,
                };
                format!("{:.1},{:.1}", step * i as f64, y(v))
            })
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"series\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" vector-effect=\"non-scaling-stroke\" points=\"{}\"/>",
            pts.join(" ")
        );
    }
    let _ = writeln!(
        out,
        "</svg><div class=\"axis\"><span>{}</span><span>{}</span></div>",
        esc(&m[0].key.minute),
        esc(&m[m.len() - 1].key.minute)
    );
}

/// Failures by provider → status → error, as bars (one per failure group).
fn failure_bars(out: &mut String, r: &Report) {
    let groups: Vec<_> = r.groups.iter().filter(|g| g.failure).take(25).collect();
    if groups.is_empty() {
        return;
    }
    let max = groups.iter().map(|g| g.count).max().unwrap_or(1).max(1);
    out.push_str("<h2>Failure groups at a glance</h2><div class=\"bars\" id=\"failure-bars\">");
    for g in groups {
        let what = match (&g.error, g.tmdb_code) {
            (Some(e), _) => e.clone(),
            (None, Some(c)) => format!("code {c}"),
            _ => g.class.clone(),
        };
        let pct = 100.0 * g.count as f64 / max as f64;
        let _ = write!(
            out,
            "<span>{} {} {}</span><div class=\"track\"><div class=\"fill bar\" style=\"width:{pct:.1}%\"></div></div><span class=\"num\">{}</span>",
            esc(&g.provider),
            g.status,
            esc(&what),
            g.count
        );
    }
    out.push_str("</div>\n");
}

/// The start of a page: head, style, the opening of `<main>` with a heading.
pub(crate) fn page_start(title: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">");
    let _ = write!(out, "<title>{}</title><style>", esc(title));
    out.push_str(STYLE);
    let _ = writeln!(out, "</style></head><body><main>\n<h1>{}</h1>", esc(title));
    out
}

/// The end of a page: `data` as the embedded JSON (script id `id`) and the page's
/// script.
pub(crate) fn page_end(out: &mut String, id: &str, data: &impl serde::Serialize) {
    let json = serde_json::to_string(data)
        .expect("a document serializes")
        // Nothing in the data may close the script element.
        .replace("</", "<\\/");
    let _ = writeln!(
        out,
        "</main><script type=\"application/json\" id=\"{id}\">{json}</script><script>{SCRIPT}</script></body></html>"
    );
}

/// The report as one self-contained HTML page.
pub fn report(r: &Report) -> String {
    let mut out = page_start("errlens report");
    for l in table::totals(r) {
        let _ = writeln!(out, "<div class=\"muted\">{}</div>", esc(&l));
    }
    let cards = [
        ("h-records", r.records, "records"),
        ("h-failures", r.failures, "failures"),
        ("h-hidden", r.hidden_failures, "hidden failures"),
        ("h-wasted", r.retries.counts.wasted, "wasted retries"),
        ("h-429", r.pressure.rate_limited, "429 rate limited"),
        ("h-412", r.pressure.client_id_failed, "412 client_id failed"),
    ];
    out.push_str("<div class=\"cards\">");
    for (id, v, label) in cards {
        let _ = write!(
            out,
            "<div class=\"card\"><b id=\"{id}\">{}</b><span>{label}</span></div>",
            super::thousands(v)
        );
    }
    out.push_str("</div>\n");
    minute_chart(&mut out, r);
    failure_bars(&mut out, r);
    for t in table::sections(r) {
        table_html(&mut out, &t);
    }
    let mut inputs =
        super::TextTable::new(&["input", "shape", "lines", "records", "malformed", "error"]);
    inputs.title = Some("Inputs".into());
    for i in &r.inputs {
        inputs.rows.push(vec![
            i.file.clone(),
            i.shape.clone().unwrap_or_default(),
            super::thousands(i.lines),
            super::thousands(i.records),
            super::thousands(i.malformed),
            i.error.clone().unwrap_or_default(),
        ]);
    }
    table_html(&mut out, &inputs);
    out.push_str("<p class=\"muted\">Made by errlens. The data behind this page is in the <code>errlens-report</code> script element (schema errlens.report/v1).</p>\n");
    page_end(&mut out, "errlens-report", r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_keeps_the_script_closed() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let mut a = errlens_audit::Auditor::new(errlens_audit::AuditConfig::default());
        a.read(
            "</script><script>alert(1)</script>",
            &br#"{"status":500,"url":"https://api.simkl.com/</script>","client_id":"<b>x</b>","error":"a</script>"}"#[..],
        )
        .unwrap();
        let r = Report::from_summary(&a.finish(), &Default::default());
        let html = report(&r);
        assert_eq!(html.matches("</script>").count(), 2, "only the page's own");
        assert!(!html.contains("<b>x</b>"));
        assert!(
            !html.contains("http://") && !html.contains("https://api"),
            "no URL is loadable"
        );
    }
}
