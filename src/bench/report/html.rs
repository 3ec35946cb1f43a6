//! `--output html`: one self-contained page that draws one report or several side by side from
//! their JSON (the same JSON `--output json` writes). Nothing is fetched: the data, the page's
//! script and styles and uPlot (a small charting library, MIT licence, its text in the page)
//! are inline, and the page's policy forbids any request.
const UPLOT_JS: &str = include_str!("html/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("html/uPlot.min.css");
const UPLOT_LICENSE: &str = include_str!("html/LICENSE-uPlot");
const PAGE_JS: &str = include_str!("html/report.js");
const PAGE_CSS: &str = include_str!("html/report.css");

/// The page of `reports` (JSON reports).
pub(super) fn page(reports: &[serde_json::Value]) -> String {
    let data = serde_json::Value::Array(reports.to_vec()).to_string();
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rpcsh bench report</title>
<style>{UPLOT_CSS}
{PAGE_CSS}</style>
</head>
<body>
<header><h1>rpcsh bench report</h1><p>Made by rpcsh {version}; charts by uPlot (MIT licence, in this page's source).</p></header>
<main></main>
<script type="application/json" id="reports">{data}</script>
<script>/*
{UPLOT_LICENSE}*/
{UPLOT_JS}</script>
<script>{PAGE_JS}</script>
</body>
</html>
"#,
        version = env!("CARGO_PKG_VERSION"),
        data = script_safe(&data),
    )
}

/// JSON that cannot end the script element it is in: `<`, `>` and `&` only occur inside its
/// strings, where their escapes mean the same.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_report_cannot_close_its_script() {
        let hostile = serde_json::json!({"errors": ["</script><script>alert(1)</script>"]});
        let page = super::page(std::slice::from_ref(&hostile));
        assert!(!page.contains("<script>alert"), "{page}");
        let start = page.find(r#"id="reports">"#).unwrap() + 13;
        let end = start + page[start..].find("</script>").unwrap();
        let back: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(back, serde_json::json!([hostile]));
    }
}
